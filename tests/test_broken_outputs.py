"""PHASE-OUTPUTS judges outputs by the interface's types, not by name only: each mismatch is named."""

from typing import List

import pytest
from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases

CASES: List[Case] = [
    ("broken.outputs.OutputOfWrongType", "PHASE-OUTPUTS", set(),
     ("y: declared int (INTEGER), got a string 'seven', which flytekit cannot convert to int",)),
    # flytekit pickles the object into a new blob on every GetTask: the re-polls really answer other outputs.
    ("broken.outputs.OutputIsAnObject", "PHASE-OUTPUTS", {"PHASE-TERMINAL-STABLE"},
     ("y: declared int (INTEGER), got a blob (PythonPickle)",)),
]


@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector, "-k", "PHASE or STRUCT"), clause_id, cascade, evidence)


@pytest.mark.parametrize("connector", ["broken.outputs.OutputConverted", "broken.outputs.ContainerStyleOutputs"])
def test_outputs_of_the_declared_type_pass(run_suite, connector: str) -> None:
    run = run_suite(connector, "-k", "PHASE-OUTPUTS")
    assert run.outcomes == {"PHASE-OUTPUTS": "passed"}, run.output
