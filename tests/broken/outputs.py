"""Connectors whose outputs do not match the task interface (PHASE-OUTPUTS), and twins whose outputs do."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict

from flyteidl.core import literals_pb2
from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.extend.backend.base_connector import AsyncConnectorBase, Resource, ResourceMeta

from .phases import Tweaked


class Outputs(Tweaked):
    """The reference connector answering SUCCEEDED with ``answer(view)`` as its outputs."""

    def tweak(self, resource: Resource, view: Dict[str, Any]) -> Resource:
        if resource.phase == TaskExecution.SUCCEEDED:
            resource.outputs = self.answer(view)
        return resource

    def answer(self, view: Dict[str, Any]) -> Dict[str, Any]:
        return view["outputs"]


class OutputOfWrongType(Outputs):
    """PHASE-OUTPUTS: the backend's result text passed through for `y: int`."""

    breaks = "PHASE-OUTPUTS"
    evidence = ("y: declared int (INTEGER), got a string 'seven', which flytekit cannot convert to int",)
    # judged on the clauses that read outputs (and the structure ones)
    suite_args = ("-k", "PHASE or STRUCT")

    def answer(self, view: Dict[str, Any]) -> Dict[str, Any]:
        return {"y": "seven"}


class JobHandle:
    """An SDK object a connector hands over instead of the value in it."""

    def __init__(self, job_id: str):
        self.job_id = job_id


class OutputIsAnObject(Outputs):
    """PHASE-OUTPUTS: returns the SDK's result object for `y: int` (flytekit pickles it into a blob)."""

    breaks = "PHASE-OUTPUTS"
    # flytekit pickles the object into a new blob on every GetTask: the re-polls really answer other outputs.
    cascade = frozenset({"PHASE-TERMINAL-STABLE"})
    evidence = ("y: declared int (INTEGER), got a blob (PythonPickle)",)
    # judged on the clauses that read outputs (and the structure ones)
    suite_args = ("-k", "PHASE or STRUCT")

    def answer(self, view: Dict[str, Any]) -> Dict[str, Any]:
        return {"y": JobHandle(view["job_id"])}


class OutputConverted(Outputs):
    """Twin: the backend's text result converted to the declared int."""

    def answer(self, view: Dict[str, Any]) -> Dict[str, Any]:
        return {"y": int(str(view["outputs"]["y"]))}


@dataclass
class PrefixMeta(ResourceMeta):
    output_prefix: str


class ContainerStyleOutputs(AsyncConnectorBase):
    """Twin: writes outputs.pb under output_prefix and answers SUCCEEDED without Resource.outputs (F-PHASE-5)."""

    def __init__(self) -> None:
        super().__init__(task_type_name="container_style_outputs", metadata_type=PrefixMeta)

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> PrefixMeta:
        return PrefixMeta(output_prefix)

    async def get(self, resource_meta: PrefixMeta, **kwargs: Any) -> Resource:
        answer = literals_pb2.LiteralMap(literals={"y": literals_pb2.Literal(scalar=literals_pb2.Scalar(
            primitive=literals_pb2.Primitive(integer=7)))})
        with open(os.path.join(resource_meta.output_prefix, "outputs.pb"), "wb") as handle:
            handle.write(answer.SerializeToString())
        return Resource(phase=TaskExecution.SUCCEEDED, message="done")

    async def delete(self, resource_meta: PrefixMeta, **kwargs: Any) -> None:
        return None
