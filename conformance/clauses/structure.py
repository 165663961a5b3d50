"""Structure: the connector class is what flytekit's connector service can route to and call."""

from __future__ import annotations

import dataclasses
import inspect
from typing import TYPE_CHECKING, cast

from conformance.clause import ClauseFailure, ClauseSkip, clause

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from conformance.run import ClauseRun

SERVICE_KWARGS = {
    "create": ("task_template", "inputs", "output_prefix", "task_execution_metadata"),
    "get": ("resource_meta",),
    "delete": ("resource_meta",),
    "get_logs": ("resource_meta",),
    "get_metrics": ("resource_meta",),
}


@clause("STRUCT-TASK-CATEGORY", fact="API",
        consequence="The connector service finds connectors by (task type, version); CreateTask for this task type "
                    "answers NOT_FOUND and the task fails.",
        fix="Call super().__init__(task_type_name='my_task', metadata_type=MyMeta) in __init__.")
def task_category(run: ClauseRun) -> None:
    """task_category is a TaskCategory with a non-empty name (API: the registry routes by it)."""
    from flytekit.extend.backend.base_connector import TaskCategory

    category = run.connector.task_category
    if isinstance(category, TaskCategory) and isinstance(category.name, str) and category.name \
            and isinstance(category.version, int) and category.version >= 0:
        return
    shown = (f"TaskCategory(name={category.name!r}, version={category.version!r})"
             if isinstance(category, TaskCategory) else repr(category))
    raise ClauseFailure(
        expected="task_category is a TaskCategory with a non-empty name and a version >= 0",
        observed=f"task_category = {shown}",
    )


@clause("STRUCT-TASK-TYPE-FREE", fact="API",
        consequence="ConnectorRegistry.register refuses a second connector for the same (task type, version) with a "
                    "ValueError; `import flytekit` imports every installed plugin, so in an image with both the "
                    "import fails and the connector service does not start: every connector on it is down.",
        fix="Use a task type name no other plugin uses (prefix it with your package's name), or a new "
            "task_type_version if yours deliberately replaces the other; never install both in one image.")
def task_type_free(run: ClauseRun) -> None:
    """No other connector class holds the same task type and version: register() refuses a second one (API)."""
    from flytekit.extend.backend.base_connector import TaskCategory

    category = run.connector.task_category
    if not isinstance(category, TaskCategory):
        raise ClauseSkip("not checked: task_category is no TaskCategory (see STRUCT-TASK-CATEGORY)")
    holder = run.guards.routes_before.get(category)
    if holder is None or type(holder) is type(run.connector):
        return  # free, or this connector's own registration at import (real plugins register themselves)
    raise ClauseFailure(
        expected=f"no other connector class registered for task type {category.name!r} version "
                 f"{category.version} when this one registers",
        observed=f"ConnectorRegistry already routes {category} to {_qualified(type(holder))}, registered before "
                 "the suite built this connector (an installed plugin, or a module imported beside it); registering "
                 f"this one too raises ValueError('Duplicate connector for task type: {category}')",
    )


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@clause("STRUCT-METADATA-TYPE", fact="F-WIRE-1",
        consequence="GetTask and DeleteTask call metadata_type.decode(bytes); without it every poll and abort "
                    "fails with INTERNAL.",
        fix="Declare `@dataclass class MyMeta(ResourceMeta): job_id: str` and pass metadata_type=MyMeta.")
def metadata_type(run: ClauseRun) -> None:
    """metadata_type is a dataclass subclass of ResourceMeta, so the service can decode metas (F-WIRE-1)."""
    from flytekit.extend.backend.base_connector import ResourceMeta

    meta_type = run.connector.metadata_type
    problem = _metadata_type_problem(meta_type, ResourceMeta)
    if not problem:
        return
    raise ClauseFailure(
        expected="metadata_type is a @dataclass subclass of flytekit's ResourceMeta, with its fields",
        observed=f"metadata_type = {meta_type!r}: {problem}",
    )


def _metadata_type_problem(meta_type, resource_meta: type) -> str:
    """ResourceMeta is itself a dataclass, so a subclass missing @dataclass still passes is_dataclass()."""
    if not (inspect.isclass(meta_type) and issubclass(meta_type, resource_meta)):
        return "not a ResourceMeta subclass"
    # cast: a subclass of ResourceMeta, a dataclass, is a dataclass type (the point of the docstring)
    fields = {f.name for f in dataclasses.fields(cast("type[DataclassInstance]", meta_type))}
    undeclared = sorted(set(meta_type.__dict__.get("__annotations__", {})) - fields)
    if undeclared:
        return f"annotated {undeclared} but they are not dataclass fields (is @dataclass missing?)"
    if not fields:
        return "no fields: the meta cannot identify a job (is @dataclass missing?)"
    return ""


@clause("STRUCT-SIGNATURES", fact="F-WIRE-5",
        consequence="The service calls these with keyword arguments; a mismatch is a TypeError, which becomes an "
                    "INTERNAL error on every call (F-WIRE-5).",
        fix="Use the base class signatures, e.g. `async def get(self, resource_meta: MyMeta, **kwargs)`.")
def signatures(run: ClauseRun) -> None:
    """create/get/delete (and overridden get_logs/get_metrics) accept the service's keyword arguments (F-WIRE-5)."""
    problems = [problem for name in SERVICE_KWARGS if (problem := _signature_problem(run.connector, name))]
    if not problems:
        return
    raise ClauseFailure(
        expected="each method can be called the way the connector service calls it: "
                 + "; ".join(f"{m}({', '.join(k + '=...' for k in kw)})" for m, kw in SERVICE_KWARGS.items()),
        observed="\n".join(problems),
    )


def _signature_problem(connector, name: str):
    from flytekit.extend.backend.base_connector import AsyncConnectorBase

    method = getattr(type(connector), name, None)
    if method is None or method is getattr(AsyncConnectorBase, name, None):
        return None  # optional method not overridden: nothing is called
    kwargs = {key: None for key in SERVICE_KWARGS[name]}
    try:
        inspect.signature(getattr(connector, name)).bind(**kwargs)
    except TypeError as exc:
        return f"{name}{inspect.signature(getattr(connector, name))}: {exc}"
    return None
