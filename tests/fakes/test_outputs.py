"""fake_backends.outputs: a fake's job writes outputs.pb as a container would, and PHASE-OUTPUTS reads it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core import literals_pb2

from conformance.task import default_template
from fake_backends import serve
from fake_backends.outputs import write_outputs_pb

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
TEMPLATE = default_template("jobs", 0)  # x: int -> y: int


def read_back(path: str) -> literals_pb2.LiteralMap:
    found = literals_pb2.LiteralMap()
    found.ParseFromString(Path(path).read_bytes())
    return found


@pytest.mark.parametrize("types", [None, {"y": int}, {"y": TEMPLATE.interface.outputs.variables["y"].type},
                                   TEMPLATE, TEMPLATE.interface], ids=["guessed", "python", "literal-type",
                                                                        "template", "interface"])
def test_every_form_of_types_writes_the_declared_literal(tmp_path: Path, types: Any) -> None:
    path = write_outputs_pb(str(tmp_path), {"y": 42}, types)
    assert path == os.path.join(str(tmp_path), "outputs.pb")
    assert read_back(path).literals["y"].scalar.primitive.integer == 42


def test_flytekit_models_and_file_urls_are_accepted(tmp_path: Path) -> None:
    from flytekit.models.task import TaskTemplate

    path = write_outputs_pb(f"file://{tmp_path}/attempt-0", {"y": 7}, TaskTemplate.from_flyte_idl(TEMPLATE))
    assert read_back(path).literals["y"].scalar.primitive.integer == 7


def test_declared_types_are_enforced(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="float"):
        write_outputs_pb(str(tmp_path), {"y": "seven"}, {"y": float})


def test_a_remote_prefix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not local"):
        write_outputs_pb("s3://bucket/run/0", {"y": 1})


def phase_outputs(connector: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """PHASE-OUTPUTS for a docs/examples connector against the container-style fake of the Jobs service."""
    from conformance.clause import all_clauses
    from conformance.run import Subject, check_connector

    monkeypatch.syspath_prepend(str(EXAMPLES))
    import container_job
    from rest_job_workflow import registered_template

    clause = [c for c in all_clauses() if c.id == "PHASE-OUTPUTS"]
    with serve(container_job.ContainerJobsApi, default_outputs={"y": 42}) as backend:
        subject = Subject(connector, getattr(container_job, connector), registered_template(), {"x": 7}, backend,
                          environment={"JOBS_URL": backend.url})
        (result,) = check_connector(subject, clauses=clause).results
    return result


def test_phase_outputs_accepts_outputs_the_job_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    result = phase_outputs("ContainerJobsConnector", monkeypatch)
    assert result.outcome.value == "PASS", result.message


def test_phase_outputs_fails_a_job_that_wrote_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # JobsConnector does not tell the job its output prefix: the job writes nothing, the API answers no result.
    result = phase_outputs("JobsConnector", monkeypatch)
    assert result.outcome.value == "FAIL", result.message
    assert "missing ['y']; found no outputs" in result.message
