"""Every deletion clause can fail: a broken connector fails exactly that clause."""

from typing import List

from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases

CASES: List[Case] = [
    ("broken.deletion.RemembersDeleted", "DELETE-TWICE", set(), ("job job-1 was already deleted",)),
    ("broken.deletion.RefusesPending", "DELETE-AFTER-CREATE", set(), ("cannot cancel job job-1 (PENDING)",)),
    ("broken.deletion.RefusesSucceeded", "DELETE-AFTER-SUCCESS", set(), ("cannot cancel job job-1 (SUCCEEDED)",)),
    ("broken.deletion.RefusesFailed", "DELETE-AFTER-FAILURE", set(), ("cannot cancel job job-1 (FAILED)",)),
    ("broken.deletion.RefusesGone", "DELETE-PURGED", set(), ("cannot cancel job job-1 (HTTP 404)",)),
    ("broken.deletion.OneDeleteAtATime", "DELETE-CONCURRENT", set(),
     ("3 failed", "a cancel of job job-1 is already in progress")),
]


@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector), clause_id, cascade, evidence)
