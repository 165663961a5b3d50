"""Every structure clause can fail: a broken connector fails exactly that clause."""

import pytest

CASES = [
    # (broken connector, the clause it breaks, clauses that unavoidably fail with it)
    ("broken.structure.EmptyTaskCategory", "STRUCT-TASK-CATEGORY", set()),
]


@pytest.mark.parametrize("connector, clause_id, cascade", CASES, ids=[c[1] for c in CASES])
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade):
    run = run_suite(connector)
    assert run.failed() == {clause_id} | cascade, run.output
    assert f"{clause_id} [" in run.output
