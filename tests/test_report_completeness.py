"""The report is never wrong and never silently short: every selected clause has a row whatever happened
(a worker that died, a run stopped early, a process killed mid-clause), and a report written while the run
goes says it is incomplete and names the clause in flight."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REFERENCE = "conformance.reference.ReferenceConnector"
FIVE = "STRUCT or loads"  # LOAD and the four STRUCT clauses: quick, and enough to show every row accounted for
VICTIM = "STRUCT-METADATA-TYPE"

DIE_IN_CALL = '''
"""A plugin (-p die_in_call): a conftest's hooks would not reach the suite, which lives outside the rootdir."""
import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """What a connector calling os._exit does to the process running it (e.g. with --connector-isolation=none)."""
    if "{victim}" in item.nodeid:
        os._exit(9)
'''


def report_of(path: Path) -> dict:
    return json.loads((path / "out" / "r.json").read_text())


def statuses(document: dict) -> dict[str, str]:
    return {f"{row['connector']} {row['clause']}": row["status"] for row in document["results"]}


def test_a_crashed_xdist_worker_gives_crashed_and_not_run_rows_and_a_failing_run(pytester: pytest.Pytester) -> None:
    """xdist reports the dead worker's clause without our properties: it was dropped, and the report said passed."""
    pytest.importorskip("xdist")
    pytester.makepyfile(die_in_call=DIE_IN_CALL.format(victim="STRUCT"))  # each STRUCT clause kills its worker
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "die_in_call", "-n", "2",
                                           "--max-worker-restart=0", f"--connector={REFERENCE}", "-k", FIVE,
                                           "--connector-report=out/r")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    document = report_of(pytester.path)
    cells = statuses(document)
    assert len(cells) == 5 and document["complete"] and not document["passed"]
    assert cells.pop("ReferenceConnector LOAD") == "PASS"
    assert "CRASHED" in cells.values() and "NOT RUN" in cells.values()  # 4 clauses, at most 2 in flight
    assert set(cells.values()) == {"CRASHED", "NOT RUN"}
    crashed = next(row for row in document["results"] if row["status"] == "CRASHED")
    assert crashed["detail"].startswith("worker 'gw") and "--connector-isolation" in crashed["detail"]
    assert "::TestConnectors::test_clause[ReferenceConnector-STRUCT-" in crashed["test"]
    for row in document["results"]:
        if row["status"] == "NOT RUN":
            assert row["detail"].startswith("never reported: ")
    markdown = (pytester.path / "out" / "r.md").read_text()
    assert "## Connector conformance: ❌ failed" in markdown and "passed" not in markdown.splitlines()[0]
    result.stdout.fnmatch_lines(["*CRASHED: worker 'gw*' crashed while running*"])


def test_a_process_that_dies_leaves_a_report_that_says_incomplete_and_names_the_clause(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(die_in_call=DIE_IN_CALL.format(victim=VICTIM))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "die_in_call", f"--connector={REFERENCE}",
                                           "-k", FIVE,
                                           "--connector-report=out/r")
    assert result.ret == 9
    document = report_of(pytester.path)
    assert document["complete"] is False and document["passed"] is False
    assert document["in_flight"] == [f"ReferenceConnector {VICTIM}"]
    assert document["progress"].startswith("incomplete: ") and "of 5 rows" in document["progress"]
    markdown = (pytester.path / "out" / "r.md").read_text()
    assert markdown.startswith("## Connector conformance: ⏳ incomplete")
    assert f"in flight: ReferenceConnector {VICTIM}" in markdown


def test_a_run_stopped_early_reports_the_rest_as_not_run(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-x",
                                          "--connector=broken.structure.EmptyTaskCategory", "-k", FIVE,
                                          "--connector-report=out/r")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cells = statuses(report_of(pytester.path))
    assert len(cells) == 5 and cells["EmptyTaskCategory STRUCT-TASK-CATEGORY"] == "FAIL"
    assert cells["EmptyTaskCategory STRUCT-SIGNATURES"] == "NOT RUN"
    result.stdout.fnmatch_lines(["*EmptyTaskCategory: STRUCT-TASK-TYPE-FREE, STRUCT-METADATA-TYPE, STRUCT-SIGNATURES"
                                 " NOT RUN: never reported: the run stopped before it*"])


CRASHED_AND_NOT_RUN = '''
import pytest

from conformance.clause import all_clauses
from conformance.pytest_outcomes import report
from conformance.run import ClauseResult, Outcome


@pytest.mark.parametrize("outcome", [Outcome.CRASHED, Outcome.NOT_RUN])
def test_result(outcome, request):
    """What the connector host (a crash) and the suite's time budget (clauses not started) hand to report()."""
    clause = all_clauses()[0]
    request.node.user_properties += [("connector", "X"), ("clause", clause.id), ("level", "MUST"), ("fact", "F")]
    report(ClauseResult(clause, outcome, f"{outcome.value} because of a test"), "X", request)
'''


def test_crashed_and_not_run_results_fail_the_run_under_their_own_name(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_results=CRASHED_AND_NOT_RUN)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-v", "--connector-report=out/r")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*test_result?CRASHED? CRASHED*", "*test_result?NOT RUN? NOT RUN*"])
    rows = report_of(pytester.path)["results"]
    assert [row["status"] for row in rows] == ["CRASHED", "NOT RUN"]
    assert "NOT RUN because of a test" in rows[1]["detail"]

