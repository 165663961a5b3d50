"""STRUCT-TASK-TYPE-FREE: a connector on a task type another class registered fails, as register() would refuse it
(broken.structure.TaskTypeTaken declares it); its own registration or a new version is no collision."""

import pytest


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
