"""STRUCT-TASK-TYPE-FREE: a connector on a task type another class registered fails, as register() would refuse it."""

from typing import List

import pytest
from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases

CASES: List[Case] = [
    ("broken.structure.TaskTypeTaken", "STRUCT-TASK-TYPE-FREE", set(),
     ("ConnectorRegistry already routes conformance_squatted_v0 to broken.structure.Incumbent",
      "ValueError('Duplicate connector for task type: conformance_squatted_v0')")),
]


@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector), clause_id, cascade, evidence)


@pytest.mark.parametrize("connector", ["broken.structure.RegistersItself", "broken.structure.NextVersion",
                                       "conformance.reference.ReferenceConnector"])
def test_its_own_registration_or_a_new_version_is_no_collision(run_suite, connector: str) -> None:
    run = run_suite(connector, "-k", "STRUCT")
    assert run.outcomes.get("STRUCT-TASK-TYPE-FREE") == "passed" and not run.failed(), run.output


def test_each_clause_leaves_flytekits_registry_as_it_found_it(run_suite) -> None:
    import broken.structure  # noqa: F401  (its import registers the stand-in plugin: not the harness's doing)
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    before = dict(ConnectorRegistry._REGISTRY)
    run_suite("broken.structure.TaskTypeTaken", "-k", "PHASE-ACCEPTED or STRUCT-TASK-TYPE-FREE")
    assert ConnectorRegistry._REGISTRY == before
