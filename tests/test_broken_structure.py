"""Every structure clause can fail: a broken connector fails exactly that clause.

Also home of the check the other ``test_broken_<family>.py`` modules share.
"""

import re
from typing import Dict, Iterable, List, Optional, Set, Tuple

import pytest

Case = Tuple[str, str, Set[str], Tuple[str, ...]]
"""(broken connector, the clause it breaks, clauses that unavoidably fail with it, text its failure must show)"""


def broken_connector_cases(cases: List[Case], clause_bugs: Optional[Dict[str, str]] = None):
    """Parametrize over CASES; a case that a known clause bug (connector -> why) spoils is a strict xfail."""
    clause_bugs = clause_bugs or {}
    params = [pytest.param(*case, id=f"{case[1]}-{case[0].rsplit('.', 1)[-1]}", marks=[
        pytest.mark.xfail(strict=True, reason=clause_bugs[case[0]])] if case[0] in clause_bugs else [])
        for case in cases]
    return pytest.mark.parametrize("connector, clause_id, cascade, evidence", params)


def assert_fails_exactly(run, clause_id: str, cascade: Set[str], evidence: Iterable[str]) -> None:
    assert run.failed() == {clause_id} | cascade, run.output
    report = failure_report(run.output, clause_id)
    for text in evidence:
        assert text in report, f"{text!r} not in the {clause_id} failure:\n{report}"


def failure_report(output: str, clause_id: str) -> str:
    """The FAILURES section of the test for ``clause_id``."""
    header = re.compile(rf"^_+ \S*test_clause\[[^\]]*-{re.escape(clause_id)}\] _+$", re.M)
    match = header.search(output)
    assert match, f"no failure section for {clause_id}:\n{output}"
    end = re.compile(r"^(_{3,} |={3,} )", re.M).search(output, match.end())
    return output[match.end():end.start() if end else None]


CASES: List[Case] = [
    ("broken.structure.EmptyTaskCategory", "STRUCT-TASK-CATEGORY", set(), ("name=''",)),
    ("broken.structure.NotAResourceMeta", "STRUCT-METADATA-TYPE", set(), ("StandaloneMeta",)),
    ("broken.structure.NotADataclassMeta", "STRUCT-METADATA-TYPE", set(), ("NamespaceMeta", "is @dataclass missing?")),
    # get_metrics() is also called by CAP-METRICS, with the same keyword the service uses: the TypeError
    # this clause predicts happens there too. Every method in the clause is called by some other clause,
    # so a signature bug always brings down at least one; get_metrics is the one used by the fewest.
    ("broken.structure.RenamedMetricsArgument", "STRUCT-SIGNATURES", {"CAP-METRICS"},
     ("get_metrics(meta:", "missing a required argument: 'meta'")),
]

@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector), clause_id, cascade, evidence)
