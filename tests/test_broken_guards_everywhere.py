"""Guards watch every clause: evidence from fault clauses, scripted failures, deletes and fuzzing fails the
guard clause, naming where it was seen; blocking I/O is found at the fake's 1 ms latency; one failure hides
no other check. The broken connectors of broken.guards declare what they break (test_broken_connectors runs
them); here the twins pass, and the guard clause sees what another xdist worker saw."""

from __future__ import annotations

import os

import pytest

GUARDS = ("LOOP-BLOCKING", "SECRET-CANARY", "NET-EGRESS", "META-NO-PICKLE", "HYGIENE")


@pytest.mark.parametrize("connector", ["broken.guards.SyncHttpInExecutor", "conformance.reference.ReferenceConnector"])
def test_blocking_calls_off_the_loop_pass(run_suite, connector: str) -> None:
    run = run_suite(connector, "-k", " or ".join(GUARDS))
    assert run.outcomes == dict.fromkeys(GUARDS, "passed"), run.output


@pytest.mark.parametrize("connector, clause_id, provoker, evidence", [
    ("broken.guards.BlocksOnRetry", "LOOP-BLOCKING", "BACKEND-GET-TRANSIENT", "(seen in BACKEND-GET-TRANSIENT)"),
    ("broken.guards.TokenInFailureLogLink", "SECRET-CANARY", "PHASE-FAILURE-MESSAGE", "Resource.log_links"),
])
def test_under_xdist_the_guard_clause_sees_what_another_worker_saw(
        pytester, monkeypatch, failure_report, connector: str, clause_id: str, provoker: str, evidence: str) -> None:
    """Alone in its worker, or before the clause that provokes it: the guard clause tours the suite itself."""
    monkeypatch.setenv("PYTHONPATH", os.path.dirname(os.path.abspath(__file__)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--connector={connector}", "-n", "2", "-rf",
                                           "-k", f"{clause_id} or {provoker}", timeout=300)
    output = result.stdout.str()
    failed = [line for line in output.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1 and f"-{clause_id}]" in failed[0], output
    assert evidence in failure_report(output, clause_id)
