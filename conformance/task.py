"""The task the platform hands the connector: template, inputs, and per-attempt execution metadata.

Real connectors need their own template (``custom`` config, container, interface); the default here
is a small one for the connector's task category, and the ``connector_task_template`` /
``connector_inputs`` fixtures replace it.
"""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass
from typing import Any

from flyteidl.admin import agent_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from google.protobuf import duration_pb2, struct_pb2

PROJECT, DOMAIN = "conformance", "development"
_INTEGER = types_pb2.LiteralType(simple=types_pb2.SimpleType.INTEGER)
_SAMPLE_INPUT = 7


def default_template(task_type: str, version: int) -> tasks_pb2.TaskTemplate:
    """One integer in, one integer out: small, but it makes F-PHASE-5 (declared outputs) checkable."""
    return tasks_pb2.TaskTemplate(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project=PROJECT, domain=DOMAIN,
            name=f"conformance.{task_type}", version="1",
        ),
        type=task_type,
        task_type_version=version,
        metadata=tasks_pb2.TaskMetadata(
            runtime=tasks_pb2.RuntimeMetadata(type=tasks_pb2.RuntimeMetadata.FLYTE_SDK, flavor="python"),
            timeout=duration_pb2.Duration(seconds=600),
        ),
        interface=interface_pb2.TypedInterface(inputs=_integer_variable("x"), outputs=_integer_variable("y")),
        custom=struct_pb2.Struct(),
    )


def _integer_variable(name: str) -> interface_pb2.VariableMap:
    return interface_pb2.VariableMap(variables={name: interface_pb2.Variable(type=_INTEGER, description=name)})


def default_inputs() -> literals_pb2.LiteralMap:
    return literals_pb2.LiteralMap(literals={"x": _integer_literal(_SAMPLE_INPUT)})


def _integer_literal(value: int) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=value)))


_SAMPLES: dict[int, Any] = {
    types_pb2.SimpleType.INTEGER: 42,
    types_pb2.SimpleType.FLOAT: 0.5,
    types_pb2.SimpleType.STRING: "conformance",
    types_pb2.SimpleType.BOOLEAN: True,
}


def sample_outputs(template: tasks_pb2.TaskTemplate) -> dict[str, Any]:
    """Values a fake backend can return for the declared outputs (simple types only)."""
    outputs = template.interface.outputs.variables
    return {name: _SAMPLES[var.type.simple] for name, var in outputs.items() if var.type.simple in _SAMPLES}


def as_template_pb(template: Any) -> tasks_pb2.TaskTemplate:
    """Accept a flytekit model or a protobuf: users build templates either way."""
    return template if isinstance(template, tasks_pb2.TaskTemplate) else template.to_flyte_idl()


def as_literal_map_pb(inputs: Any) -> literals_pb2.LiteralMap:
    """Accept a protobuf, a flytekit LiteralMap, or plain Python values (types inferred by flytekit)."""
    if isinstance(inputs, literals_pb2.LiteralMap):
        return inputs
    if isinstance(inputs, dict):
        from flytekit import FlyteContextManager
        from flytekit.core.type_engine import TypeEngine

        ctx = FlyteContextManager.current_context()
        return TypeEngine.dict_to_literal_map(ctx, inputs).to_flyte_idl()
    return inputs.to_flyte_idl()


@dataclass(frozen=True)
class Attempt:
    """One task attempt as the platform tracks it: the execution id and output prefix it was sent."""

    execution: agent_pb2.TaskExecutionMetadata
    output_prefix: str

    @property
    def execution_name(self) -> str:
        return self.execution.task_execution_id.node_execution_id.execution_id.name

    @property
    def outputs_file(self) -> str:
        return os.path.join(self.output_prefix, "outputs.pb")


@dataclass
class TaskSpec:
    template: tasks_pb2.TaskTemplate
    inputs: literals_pb2.LiteralMap
    workdir: str

    def __post_init__(self) -> None:
        self._serial = itertools.count()
        self._run = uuid.uuid4().hex[:8]

    @property
    def category(self) -> agent_pb2.TaskCategory:
        return agent_pb2.TaskCategory(name=self.template.type, version=self.template.task_type_version)

    @property
    def declared_outputs(self) -> list:
        return sorted(self.template.interface.outputs.variables)

    def template_for(self, attempt: Attempt) -> tasks_pb2.TaskTemplate:
        """The template as CreateTask carries it for ``attempt``: container args rendered (F-CREATE-3)."""
        from conformance.rendering import paths_for, rendered_template

        retry = attempt.execution.task_execution_id.retry_attempt
        previous = self._output_prefix(attempt.execution_name, retry - 1) if retry > 0 else ""
        paths = paths_for(attempt.output_prefix, previous, f"{attempt.execution_name}-n0-{retry}",
                          attempt.execution.namespace)
        return rendered_template(self.template, self.inputs, paths)

    def _output_prefix(self, execution_name: str, retry_attempt: int) -> str:
        return os.path.join(self.workdir, f"{execution_name}-{retry_attempt}")

    def new_attempt(self, retry_attempt: int = 0, execution_name: str | None = None) -> Attempt:
        """A fresh execution (unique name, own output prefix), or the next retry of ``execution_name``."""
        name = execution_name or f"c{self._run}n{next(self._serial)}"
        prefix = self._output_prefix(name, retry_attempt)
        os.makedirs(prefix, exist_ok=True)
        task_execution_id = identifier_pb2.TaskExecutionIdentifier(
            task_id=self.template.id,
            node_execution_id=identifier_pb2.NodeExecutionIdentifier(
                node_id="n0",
                execution_id=identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=name),
            ),
            retry_attempt=retry_attempt,
        )
        execution = agent_pb2.TaskExecutionMetadata(
            task_execution_id=task_execution_id,
            namespace=f"{PROJECT}-{DOMAIN}",
            labels={"execution-id": name},
            max_attempts=2,
        )
        return Attempt(execution, prefix)


def output_mismatches(template: tasks_pb2.TaskTemplate, outputs: literals_pb2.LiteralMap) -> list[str]:
    """Each declared output whose literal does not convert to the interface's type, as the consumer converts it.

    flytekit's own conversion is the judge (what a downstream task or ``FlyteRemote`` does with the value), so a
    value it accepts is never reported. Blob types are compared by kind only: converting a pickle blob would
    unpickle what the connector under test wrote.
    """
    declared = template.interface.outputs.variables
    return [problem for name in sorted(declared) if name in outputs.literals
            and (problem := _mismatch(name, declared[name].type, outputs.literals[name]))]


def _mismatch(name: str, declared: types_pb2.LiteralType, literal: literals_pb2.Literal) -> str:
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal
    from flytekit.models.types import LiteralType

    try:
        python_type = TypeEngine.guess_python_type(LiteralType.from_flyte_idl(declared))
    except Exception:
        return ""  # a type flytekit cannot map to Python: nothing to judge by
    shown = f"{name}: declared {_type_name(declared, python_type)}, got {describe_literal(literal)}"
    if declared.HasField("blob"):
        return "" if literal.scalar.HasField("blob") else shown
    try:
        TypeEngine.to_python_value(FlyteContextManager.current_context(), Literal.from_flyte_idl(literal),
                                   python_type)
    except Exception:
        return f"{shown}, which flytekit cannot convert to {_type_name(declared, python_type).split(' ')[0]}"
    return ""


def _type_name(declared: types_pb2.LiteralType, python_type: Any) -> str:
    simple = types_pb2.SimpleType.Name(declared.simple) if declared.WhichOneof("type") == "simple" else ""
    python = getattr(python_type, "__name__", None) or str(python_type)
    return f"{python} ({simple})" if simple else python


def describe_literal(literal: literals_pb2.Literal) -> str:
    """``a string 'seven'``, ``a blob (PythonPickle) at ''``: what came back, in one short phrase."""
    kind = literal.WhichOneof("value")
    if kind == "scalar":
        scalar = literal.scalar
        which = scalar.WhichOneof("value")
        if which == "primitive":
            field = scalar.primitive.WhichOneof("value")
            value = getattr(scalar.primitive, field) if field else None
            return f"a {field.removesuffix('_value')} {value!r:.80}" if field else "an empty primitive"
        if which == "blob":
            return f"a blob ({scalar.blob.metadata.type.format or 'no format'}) at {scalar.blob.uri!r:.80}"
        if which == "none_type":
            return "None"
        return f"a {which or 'empty'} scalar"
    if kind == "collection":
        return f"a list of {len(literal.collection.literals)}"
    if kind == "map":
        return f"a map of {sorted(literal.map.literals)[:5]}"
    return f"a {kind or 'empty'} literal"
