"""Turn a ``--connector`` string into a connector class, or into one readable error.

Connector authors mistype paths and ship import-time bugs; the suite must say which in one line,
never with a traceback through our own code.
"""

from __future__ import annotations

import abc
import importlib
import inspect
import os
import sys
from typing import Any, cast

from conformance.errors import brief

MIN_FLYTEKIT = (1, 16, 0)


class ConnectorLoadError(Exception):
    """A ``--connector`` value that does not name a usable async connector class."""


def require_supported_flytekit() -> None:
    """Fail fast on flytekit < 1.16, where ``AsyncConnectorBase`` was still ``AsyncAgentBase``."""
    try:
        import flytekit
        from flytekit.extend.backend.base_connector import AsyncConnectorBase  # noqa: F401
    except ImportError as exc:
        version = _installed_version("flytekit")
        raise ConnectorLoadError(
            f"flytekit {version} is not supported: this suite needs flytekit >= 1.16.0, where "
            f"AsyncConnectorBase exists (earlier releases call it AsyncAgentBase) ({brief(exc)})"
        ) from None
    release = tuple(int(p) for p in flytekit.__version__.split(".")[:3] if p.isdigit())
    if release and release < MIN_FLYTEKIT:
        raise ConnectorLoadError(f"flytekit {flytekit.__version__} is not supported: need >= 1.16.0")


def _installed_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "(not installed)"


def split_path(spec: str) -> tuple:
    """Accept ``pkg.mod.Class`` and ``pkg.mod:Class``; return (module, attribute)."""
    spec = spec.strip()
    if ":" in spec:
        module, _, attr = spec.partition(":")
    else:
        module, _, attr = spec.rpartition(".")
    if not module or not attr:
        raise ConnectorLoadError(f"{spec!r} is not a dotted path like 'my_pkg.connector.MyConnector'")
    return module, attr


def load_connector_class(spec: str) -> type:
    """Import and validate; every failure is a :class:`ConnectorLoadError` naming the problem."""
    require_supported_flytekit()
    return validate_connector_class(resolve(spec), spec)


def resolve(spec: str) -> Any:
    """The object ``pkg.mod.name`` or ``pkg.mod:name`` names; failures are :class:`ConnectorLoadError`."""
    module_name, attr = split_path(spec)
    obj: Any = _import(spec, module_name)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConnectorLoadError(f"{spec}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _import(spec: str, module_name: str):
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # as `pyflyte serve connector` does, so local modules load
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConnectorLoadError(f"{spec}: no module named {exc.name!r} (is it installed?)") from None
        raise ConnectorLoadError(f"{spec}: importing {module_name!r} failed: {brief(exc)}") from None
    except BaseException as exc:  # noqa: B036 - a user module may raise anything, SystemExit included
        raise ConnectorLoadError(f"{spec}: importing {module_name!r} failed: {brief(exc)}") from None


def validate_connector_class(obj: Any, spec: str) -> type:
    """An async connector class, not an instance, a sync connector or something else."""
    from flytekit.extend.backend.base_connector import AsyncConnectorBase

    if not inspect.isclass(obj):
        raise ConnectorLoadError(f"{spec}: is a {type(obj).__name__}, not a connector class")
    if not issubclass(obj, AsyncConnectorBase):
        raise ConnectorLoadError(
            f"{spec}: {obj.__name__} is not a subclass of flytekit's AsyncConnectorBase "
            f"(bases: {', '.join(b.__name__ for b in obj.__mro__[1:-1]) or 'object'})"
        )
    if inspect.isabstract(obj):
        # isabstract() means a non-empty __abstractmethods__, which ABCMeta sets (AsyncConnectorBase is an ABC).
        missing = ", ".join(sorted(cast(abc.ABCMeta, obj).__abstractmethods__))
        raise ConnectorLoadError(f"{spec}: {obj.__name__} is abstract (does not implement {missing})")
    return obj
