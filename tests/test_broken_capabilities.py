"""Every capability clause can fail: a broken connector fails exactly that clause."""

from typing import List

from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases

CASES: List[Case] = [
    ("broken.capabilities.LogLinesList", "CAP-LOGS", set(), ("for a running job it returned list",)),
    ("broken.capabilities.NoMetricsWhenFinished", "CAP-METRICS", set(),
     ("for a finished job it returned NoneType",)),
]


@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector), clause_id, cascade, evidence)
