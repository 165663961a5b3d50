"""Load mode: the reference connector passes; each broken one in ``broken.load`` is caught by its check."""

from __future__ import annotations

import json

import pytest

from conformance.config import ConformanceConfig
from conformance.load import LoadPlan, LoadReport, load_subject, main, run_load

REFERENCE = "conformance.reference.ReferenceConnector"
SMALL = dict(n=16, concurrency=4, warmup=2, max_seconds=20.0)
"""Enough lifecycles for overlap and a few aborts, small enough to take well under a second each."""


def load(spec: str, config: ConformanceConfig | None = None, **plan: float) -> LoadReport:
    with load_subject(spec) as subject:
        return run_load(subject, LoadPlan(**{**SMALL, **plan}), config)


def test_reference_passes_with_every_rpc_measured() -> None:
    report = load(REFERENCE)
    assert report.problems() == []
    assert (report.completed, report.aborted) == (16, 4)
    assert all(report.percentiles(rpc)["p99"] > 0 for rpc in ("CreateTask", "GetTask", "DeleteTask"))
    assert report.throughput > 0


def test_leak_is_caught_by_rss_growth() -> None:
    import broken.load

    try:
        report = load("broken.load.LeaksPerCreate", rss_growth_mb=16.0)
    finally:
        broken.load._CACHE.clear()
    assert report.rss_growth_mb >= 16 * broken.load.LEAK_BYTES / 2**20 * 0.9
    assert [p for p in report.problems() if not p.startswith("RSS grew")] == []
    assert len(report.problems()) == 1


@pytest.mark.parametrize("connector", ["broken.load.BlocksLoopUnderLock", "broken.load.SerializesOnAsyncLock"])
def test_lock_contention_is_caught_by_deadline_errors(connector: str) -> None:
    # four gets at once: the second waits past 0.4 s
    report = load(connector, ConformanceConfig(deadline=0.4), n=4, warmup=0)
    assert report.errors_by_code().get("DEADLINE_EXCEEDED", 0) > 0
    assert not report.passed


def test_errors_are_counted_by_code_and_rpc() -> None:
    report = load("broken.load.FailsEveryFourthGet")
    assert set(report.errors_by_code()) == {"INTERNAL"}
    assert set(report.errors) == {("GetTask", "INTERNAL")}
    assert report.problems()[0].endswith("GetTask call(s) failed with INTERNAL")


def test_a_crash_is_named_first_with_the_line_that_raised_it() -> None:
    report = load("broken.load.ExitsOnFifthGet")
    assert report.problems()[0].startswith(
        "connector code ended the service's event loop: SystemExit: 3 (at load.py:")
    assert report.errors_by_code().get("CRASHED", 0) > 0
    assert report.as_json()["crashes"] == report.crashes


def test_delete_that_does_not_cancel_leaves_orphans() -> None:
    report = load("broken.backend.DeleteNeverCancels", abort_share=0.5)
    assert report.errors_by_code() == {}
    assert len(report.orphans) == report.aborted + 1  # the one aborted warm-up lifecycle too
    assert any("orphaned" in problem for problem in report.problems())


def test_time_bound_stops_the_run_and_fails_it() -> None:
    report = load(REFERENCE, max_seconds=0.0)
    assert report.completed == 0
    assert report.problems() == ["only 0 of 16 lifecycles finished within 0 s"]


@pytest.mark.parametrize("share, aborted", [(0.0, 0), (0.25, 25), (0.5, 50), (1.0, 100)])
def test_abort_share_is_deterministic_and_exact(share: float, aborted: int) -> None:
    plan = LoadPlan(abort_share=share)
    assert sum(plan.aborts(i) for i in range(100)) == aborted


def test_cli_writes_json_and_exits_zero_on_pass(tmp_path, capsys) -> None:
    out = tmp_path / "load.json"
    code = main([f"--connector={REFERENCE}", "-n", "8", "-c", "2", "--json", str(out)])
    assert code == 0
    assert "result: PASS" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["passed"] and data["completed"] == 8 and set(data["latency_ms"]["GetTask"]) >= {"p50", "p99"}


def test_cli_exits_one_on_a_problem_and_two_on_a_bad_path(capsys) -> None:
    assert main(["--connector=broken.backend.DeleteNeverCancels", "-n", "8", "-c", "2"]) == 1
    assert "orphaned jobs: " in capsys.readouterr().out
    assert main(["--connector=no_such_pkg.Connector"]) == 2
    assert "no module named 'no_such_pkg'" in capsys.readouterr().err
