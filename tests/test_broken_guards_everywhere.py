"""Guards watch every clause: evidence from fault clauses, scripted failures, deletes and fuzzing fails the
guard clause, naming where it was seen; blocking I/O is found at the fake's 1 ms latency; one failure hides
no other check. Each broken connector fails exactly its clause; the twins pass, with and without xdist."""

from __future__ import annotations

import os
from typing import List

import pytest
from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases, failure_report

GUARDS = ("LOOP-BLOCKING", "SECRET-CANARY", "NET-EGRESS", "META-NO-PICKLE", "HYGIENE")
LATE_DELETES = {"DELETE-AFTER-SUCCESS", "DELETE-AFTER-FAILURE"}
"""The clauses a connector fails whose delete() raises for a finished job."""

CASES: List[Case] = [
    # evidence from a fault clause: the stall happens only while the status call answers 503
    ("broken.guards.BlocksOnRetry", "LOOP-BLOCKING", set(),
     ("the loop stalled", "in _once: time.sleep(BACKOFF)", "(seen in BACKEND-GET-TRANSIENT)")),
    # one failure hides no other check: deletes of finished jobs fail, the socket leak is still measured
    ("broken.guards.LeaksAndRefusesLateDeletes", "HYGIENE", LATE_DELETES,
     ("open socket(s) (since a lifecycle, then DeleteTask)",)),
    ("broken.guards.PhonesHomeOnAbort", "NET-EGRESS", LATE_DELETES,
     ("refused connect to 203.0.113.7:443 from guards.py", "in report_usage", "DELETE-")),
    # create() fails, but fuzzing samples of the same class are pickled and unpickled
    ("broken.guards.PickledMetaCreateFails", "META-NO-PICKLE", {"META-CREATE-TYPE"},
     ("encode() produced a pickle stream", "in decode: return pickle.loads(data)")),
    # blocking I/O at the fake's 1 ms latency, named by the connector's line
    ("broken.guards.SyncHttpInAsync", "LOOP-BLOCKING", set(),
     ("blocked the event loop at guards.py", "in get: answer = requests.get(")),
    # no blocking call to find: the watchdog catches a loop busy in pure Python
    ("broken.guards.BusyInGet", "LOOP-BLOCKING", set(),
     ("the loop stalled", "in get: while time.thread_time() < busy_until:")),
    ("broken.guards.NapsInCreate", "LOOP-BLOCKING", set(),
     ("time.sleep(0.005) blocked the event loop at guards.py", "in create: time.sleep(0.005)")),
    # secrets on the failure path only
    ("broken.guards.TokenInFailureMessage", "SECRET-CANARY", set(),
     ("secret _FSEC_JOBS_TOKEN in get() Resource.message", "PHASE-FAILURE-MESSAGE", "DELETE-AFTER-FAILURE")),
    ("broken.guards.TokenInFailureLogLink", "SECRET-CANARY", set(),
     ("secret _FSEC_JOBS_TOKEN in get() Resource.log_links", "PHASE-FAILURE-MESSAGE")),
]


@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector), clause_id, cascade, evidence)


@pytest.mark.parametrize("connector", ["broken.guards.SyncHttpInExecutor", "conformance.reference.ReferenceConnector"])
def test_blocking_calls_off_the_loop_pass(run_suite, connector: str) -> None:
    run = run_suite(connector, "-k", " or ".join(GUARDS))
    assert run.outcomes == dict.fromkeys(GUARDS, "passed"), run.output


@pytest.mark.parametrize("connector, clause_id, provoker, evidence", [
    ("broken.guards.BlocksOnRetry", "LOOP-BLOCKING", "BACKEND-GET-TRANSIENT", "(seen in BACKEND-GET-TRANSIENT)"),
    ("broken.guards.TokenInFailureLogLink", "SECRET-CANARY", "PHASE-FAILURE-MESSAGE", "Resource.log_links"),
])
def test_under_xdist_the_guard_clause_sees_what_another_worker_saw(
        pytester, monkeypatch, connector: str, clause_id: str, provoker: str, evidence: str) -> None:
    """Alone in its worker, or before the clause that provokes it: the guard clause tours the suite itself."""
    monkeypatch.setenv("PYTHONPATH", os.path.dirname(os.path.abspath(__file__)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--connector={connector}", "-n", "2", "-rf",
                                           "-k", f"{clause_id} or {provoker}", timeout=300)
    output = result.stdout.str()
    failed = [line for line in output.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1 and f"-{clause_id}]" in failed[0], output
    assert evidence in failure_report(output, clause_id)
