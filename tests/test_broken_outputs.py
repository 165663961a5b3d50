"""PHASE-OUTPUTS judges outputs by the interface's types, not by name only: each mismatch is named
(broken.outputs), and outputs of the declared type pass."""

import pytest


@pytest.mark.parametrize("connector", ["broken.outputs.OutputConverted", "broken.outputs.ContainerStyleOutputs"])
def test_outputs_of_the_declared_type_pass(run_suite, connector: str) -> None:
    run = run_suite(connector, "-k", "PHASE-OUTPUTS")
    assert run.outcomes == {"PHASE-OUTPUTS": "passed"}, run.output
