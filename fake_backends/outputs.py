"""Outputs a job writes itself: ``outputs.pb`` under the task's ``output_prefix``, as a container does.

Container-style connectors answer SUCCEEDED without ``Resource.outputs``: the job (a container
running the task's code) wrote its outputs as a ``LiteralMap`` to ``<output_prefix>/outputs.pb``,
and the platform reads that file when ``Resource.outputs`` is empty (F-PHASE-5). A fake of such a
service calls :func:`write_outputs_pb` when one of its jobs succeeds, with the prefix the connector
sent it, and PHASE-OUTPUTS then checks the file as the platform would read it.

flytekit is imported on first use, so importing :mod:`fake_backends` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ["write_outputs_pb", "OUTPUTS_FILE"]

OUTPUTS_FILE = "outputs.pb"
"""The file name the platform reads under an attempt's output prefix."""

Types = Mapping[str, Any] | Any
"""Python types or LiteralTypes by output name, or a TypedInterface or TaskTemplate (flytekit model or protobuf)."""


def write_outputs_pb(output_prefix: str, values: Mapping[str, Any], types: Types | None = None) -> str:
    """Write ``values`` as the LiteralMap a task writes to ``<output_prefix>/outputs.pb``; returns the path.

    ``types`` gives each output's type, so a value is converted as the task declares it (flytekit
    refuses a value that does not fit, as the task's own code would): Python types or LiteralTypes by
    name, or the task's interface or template, whose outputs are used. Without it each value's own
    Python type is used. ``output_prefix`` is a local directory (or ``file://`` URL), as the suite hands out.
    """
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    hints = _python_types(types) if types is not None else {}
    literals = TypeEngine.dict_to_literal_map(FlyteContextManager.current_context(), dict(values), hints)
    directory = _local(output_prefix)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, OUTPUTS_FILE)
    with open(path, "wb") as handle:
        handle.write(literals.to_flyte_idl().SerializeToString())
    return path


def _local(output_prefix: str) -> str:
    """The directory an output prefix names; fakes run on this machine, so only local prefixes are written."""
    if output_prefix.startswith("file://"):
        return output_prefix[len("file://"):]
    if "://" in output_prefix:
        raise ValueError(f"output_prefix {output_prefix!r} is not local: a fake writes outputs.pb on this machine")
    return output_prefix


def _python_types(types: Types) -> dict:
    """Python types by output name, from any of the forms :func:`write_outputs_pb` accepts."""
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.types import LiteralType

    variables = _output_variables(types)
    if variables is not None:
        types = {name: variable.type for name, variable in variables.items()}
    hints = {}
    for name, given in types.items():
        if hasattr(given, "SerializeToString"):  # a LiteralType protobuf
            given = LiteralType.from_flyte_idl(given)
        hints[name] = TypeEngine.guess_python_type(given) if isinstance(given, LiteralType) else given
    return hints


def _output_variables(types: Types) -> Mapping[str, Any] | None:
    """The output variables of a TaskTemplate or TypedInterface (model or protobuf); None for a plain mapping."""
    interface = getattr(types, "interface", types)
    outputs = getattr(interface, "outputs", None)
    if outputs is None:
        return None
    return getattr(outputs, "variables", outputs)  # protobuf: a VariableMap; flytekit model: a dict
