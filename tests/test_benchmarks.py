"""Smoke tests of ``python -m benchmarks``: every measure runs at tiny counts, and the table renders.

The numbers themselves are not asserted (they belong in BENCHMARKS.md, measured on a quiet machine);
these tests keep the command working and guard the one structural claim it checks: the plugin's import
pulls in nothing heavy.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    monkeypatch.syspath_prepend(ROOT)  # benchmarks/ lives in the checkout, not in the installed package
    from benchmarks import measures, run

    return SimpleNamespace(measures=measures, run=run)


def test_in_process_measures_return_rates(bench: SimpleNamespace) -> None:
    from hypothesis import strategies as st

    from conformance.reference import JobMeta

    measures = bench.measures
    assert measures.driver_throughput(measures.REFERENCE, n=6, concurrency=2, abort_share=0.5) > 0
    assert measures.driver_throughput(measures.NOOP, n=6, concurrency=1, abort_share=1.0) > 0
    assert measures.direct_lifecycle_seconds(n=3) > 0
    assert measures.bare_grpc_cycles_per_second(n=6, concurrency=2) > 0
    fuzz = measures.fuzz_examples_per_second(lambda: st.builds(JobMeta), JobMeta, 10)
    assert fuzz["examples_per_second"] > 0 and fuzz["build_ms"] >= 0


def test_suite_run_reports_wall_and_session_time(bench: SimpleNamespace) -> None:
    timing = bench.measures.suite_run("-k", "LOAD")
    assert timing["wall"] > timing["session"] >= 0


def test_plugin_import_pulls_in_nothing_heavy(bench: SimpleNamespace) -> None:
    imported = bench.measures.plugin_import()
    assert imported["heavy_modules_loaded"] == "none"
    assert imported["plugin_import_ms"] > 0


def test_table_shows_verdicts_only_where_a_target_is_set(bench: SimpleNamespace) -> None:
    run = bench.run
    slow = run.row("slow", "slow thing", [4.0, 2.0, 3.0], "s")
    fast = run.row("fast", "fast thing", [1.0], "s")
    rows = [slow, fast, run.ratio("met", "slow / fast", slow, fast, "<= 4", lambda v: v <= 4),
            run.ratio("missed", "fast / slow", fast, slow, "> 1", lambda v: v > 1),
            run.ratio("plain", "no target", slow, fast, "", None)]
    assert [r.ok for r in rows] == [None, None, True, False, None]
    table = run.render(rows).splitlines()
    assert table[1].split()[2:5] == ["3", "s", "2..4"]  # median and spread
    assert table[3].endswith("yes") and table[4].endswith("NO") and table[5].rstrip().endswith("x")
