"""Container args as the platform renders them before CreateTask (F-CREATE-3).

FlytePropeller's connector plugin renders a task's container args per attempt before it sends
CreateTask: ``{{.input}}`` becomes the path of the ``inputs.pb`` it wrote, ``{{.outputPrefix}}`` the
attempt's output prefix, and so on (flyteplugins ``pluginmachinery/core/template/template.go``,
called from ``webapi/connector/plugin.go``). Container-style connectors (Databricks, SageMaker
training) hand those args to the job, which writes ``outputs.pb`` under the output prefix itself;
sent unrendered, the job never learns where. This module is the same rendering, over local paths.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flyteidl.core import literals_pb2, tasks_pb2

_FLAGS = re.IGNORECASE


def _pattern(name: str) -> re.Pattern[str]:
    """``{{ .Name }}`` or ``{{$Name}}``, any case, as propeller's regexes match them."""
    return re.compile(r"{{\s*[.$]" + name + r"\s*}}", _FLAGS)


_INPUT_VARIABLE = re.compile(r"{{\s*[.$]Inputs\.(?P<name>[^}\s]+)\s*}}", _FLAGS)


@dataclass(frozen=True)
class Paths:
    """Where one attempt's data lives, in the order propeller substitutes them."""

    input_prefix: str
    output_prefix: str
    raw_output_prefix: str
    checkpoint_prefix: str
    previous_checkpoint_prefix: str
    per_retry_unique_key: str
    namespace: str
    task_template_path: str

    @property
    def input_file(self) -> str:
        return os.path.join(self.input_prefix, "inputs.pb")


def paths_for(output_prefix: str, previous_output_prefix: str, generated_name: str, namespace: str) -> Paths:
    """Local stand-ins for the blob-store paths of one attempt (inputs next to the attempt's outputs);
    ``previous_output_prefix`` is the last attempt's, or "" for the first."""
    base = output_prefix.rstrip("/")
    previous = os.path.join(previous_output_prefix, "_flytecheckpoints") if previous_output_prefix else ""
    key = re.sub(r"[^a-zA-Z0-9_]+", "_", re.sub(r"^[^a-zA-Z_]+", "a", generated_name))
    return Paths(input_prefix=f"{base}-inputs", output_prefix=base, raw_output_prefix=os.path.join(base, "raw"),
                 checkpoint_prefix=os.path.join(base, "_flytecheckpoints"), previous_checkpoint_prefix=previous,
                 per_retry_unique_key=key, namespace=namespace,
                 task_template_path=os.path.join(f"{base}-inputs", "task.pb"))


class RenderError(ValueError):
    """An arg names an input the task does not have, or one propeller cannot print: CreateTask is not sent."""


def render_args(args: Iterable[str], paths: Paths, inputs: literals_pb2.LiteralMap) -> list[str]:
    """Each arg with every template replaced, in propeller's order (``Namespace`` last)."""
    fixed: dict[str, str] = {
        "Input": paths.input_file, "OutputPrefix": paths.output_prefix, "InputPrefix": paths.input_prefix,
        "RawOutputDataPrefix": paths.raw_output_prefix,
        "PrevCheckpointPrefix": paths.previous_checkpoint_prefix or '""',
        "CheckpointOutputPrefix": paths.checkpoint_prefix, "PerRetryUniqueKey": paths.per_retry_unique_key,
        "TaskTemplatePath": paths.task_template_path, "Namespace": paths.namespace,
    }
    rendered = []
    for arg in args:
        for name, value in fixed.items():
            arg = _pattern(name).sub(_verbatim(value), arg)
        rendered.append(_INPUT_VARIABLE.sub(_input_value(inputs), arg))
    return rendered


def _verbatim(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement that inserts ``text`` as is: a str replacement would expand its backslashes."""
    return lambda _: text


def _input_value(inputs: literals_pb2.LiteralMap) -> Callable[[re.Match[str]], str]:
    def value(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in inputs.literals:
            raise RenderError(f"{match.group(0)}: the task has no input {name!r}")
        return _printed(inputs.literals[name])

    return value


def _printed(literal: literals_pb2.Literal) -> str:
    """A literal as propeller prints it into an arg: primitives, blob and schema URIs, lists of those."""
    if literal.HasField("collection"):
        return "[" + ",".join(_printed(item) for item in literal.collection.literals) + "]"
    scalar = literal.scalar
    if scalar.HasField("blob"):
        return scalar.blob.uri
    if scalar.HasField("schema"):
        return scalar.schema.uri
    if scalar.HasField("primitive"):
        primitive = scalar.primitive
        kind = primitive.WhichOneof("value")
        value = getattr(primitive, kind)
        if kind == "boolean":
            return "true" if value else "false"
        if kind == "float_value":
            return _go_float(value)
        return value.ToJsonString() if kind in ("datetime", "duration") else str(value)
    raise RenderError(f"an input of kind {literal.WhichOneof('value') or 'empty'} cannot be printed into an arg")


def _go_float(value: float) -> str:
    """Go's ``%v`` for a float64 where it differs from Python's repr: whole numbers print without ``.0``."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return {math.inf: "+Inf", -math.inf: "-Inf"}.get(value, "NaN" if math.isnan(value) else repr(value))


def rendered_template(template: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap,
                      paths: Paths) -> tasks_pb2.TaskTemplate:
    """A copy of ``template`` with its container args rendered, after writing what the args point at.

    The platform writes ``inputs.pb`` (and offloads the template) before it renders; a task without a
    container is sent as it is.
    """
    if not template.HasField("container"):
        return template
    os.makedirs(paths.input_prefix, exist_ok=True)
    with open(paths.input_file, "wb") as out:
        out.write(inputs.SerializeToString())
    with open(paths.task_template_path, "wb") as out:
        out.write(template.SerializeToString())
    copy = tasks_pb2.TaskTemplate()
    copy.CopyFrom(template)
    del copy.container.args[:]
    copy.container.args.extend(render_args(template.container.args, paths, inputs))
    return copy
