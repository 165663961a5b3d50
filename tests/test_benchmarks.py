"""Smoke tests of ``python -m benchmarks``: every measure runs at tiny counts, and the table renders.

The numbers themselves are not asserted (they belong in BENCHMARKS.md, measured on a quiet machine);
these tests keep the command working and guard the one structural claim it checks: the plugin's import
pulls in nothing heavy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
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


def test_no_two_columns_run_together(bench: SimpleNamespace) -> None:
    """The widest label and target still leave two spaces before the next column (issue #14)."""
    run = bench.run
    wide = run.row("wide", "x" * 90, [1.0], "ms", "< 50, no flytekit/grpc", lambda v: v < 50)
    line = run.render([wide]).splitlines()[1]
    assert line.startswith("x" * 90 + "  ") and line.endswith("< 50, no flytekit/grpc  yes")


def test_targets_are_judged_on_the_median_of_alternating_pairs(bench: SimpleNamespace) -> None:
    run = bench.run
    order: list[str] = []
    tops, bottoms = run.alternating([lambda: order.append("a") or 3.0, lambda: order.append("b") or 2.0], 3)
    assert order == ["a", "b"] * 3 and tops == [3.0] * 3
    judged = run.paired("T9", "a / b", [4.0, 1.0, 3.0], [2.0, 1.0, 1.0], "<= 1.5", lambda v: v <= 1.5, goal="T9")
    assert judged.samples == [2.0, 1.0, 3.0] and judged.median == 2.0 and judged.ok is False


def test_sections_are_recorded_and_rendered_into_the_markdown(bench: SimpleNamespace, tmp_path: Path) -> None:
    """A section run alone replaces only its own rows; the markdown shows every target's verdict and load."""
    results, markdown = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    common = ["--repeats", "1", "--json", str(results), "--markdown", str(markdown)]
    assert bench.run.main(["--sections", "lifecycle", "--lifecycles", "2", *common]) == 0
    assert bench.run.main(["--sections", "fuzz", "--examples", "5", *common]) == 0
    text = markdown.read_text()
    assert "| T2 |" in text and ("| met |" in text or "| **not met** |" in text)
    assert "| T1 |" in text and "not measured" in text  # T1's section did not run
    assert "`--sections lifecycle`" in text and "`--sections fuzz`" in text and " load " in text
    pairs = next(r for r in json.loads(results.read_text())["sections"]["lifecycle"]["rows"]
                 if r["goal"] == "T2")["samples"]
    assert len(pairs) >= bench.run.MIN_PAIRS


def test_floor_is_a_fresh_interpreter_importing_the_heavy_four(bench: SimpleNamespace) -> None:
    assert bench.measures.FLOOR == "import flytekit, pytest, hypothesis, grpc"
    floor = bench.measures.floor_run()
    assert floor["wall"] > 0 and floor["cpu"] > 0
