"""``--connector=all``: every async connector installed, found the way flytekit finds them.

flytekit imports each ``flytekit.plugins`` entry point (``load_implicit_plugins``), and each plugin
registers connector instances in ``ConnectorRegistry`` at import; ``pyflyte serve connector`` then
serves whatever the registry holds. Discovery does the same, one plugin at a time, so a plugin that
fails to import is reported on its own instead of taking every other connector down with it.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

from conformance.errors import brief
from conformance.loading import ConnectorLoadError, require_supported_flytekit, validate_connector_class

ALL = "all"
GROUP = "flytekit.plugins"
BUILT_IN = "flytekit."
"""flytekit registers its own connectors (the sensor engine) at import: not installed plugins, not checked."""
Loaded = dict[str, type | str]
"""spec -> connector class, or the one-line reason it cannot be checked"""


class Uncheckable(str):
    """Why an installed connector is not checked although nothing is wrong with it (a sync connector).

    Reported as a skipped load check with this reason, so ``--connector=all`` lists everything it
    found; a plain ``str`` reason is a load failure.
    """


def discover() -> Loaded:
    """Load every plugin entry point, then read the registry; failures become one-line entries."""
    with _implicit_plugins_deferred():
        require_supported_flytekit()
    loaded: Loaded = {}
    plugins = _entry_points()
    for plugin in plugins:
        try:
            plugin.load()
        except BaseException as exc:  # noqa: B036 - a plugin may raise anything at import, SystemExit included
            loaded[f"{GROUP}:{plugin.name}"] = (f"flytekit plugin {plugin.name!r} ({plugin.value}) failed to "
                                                f"import: {brief(exc)}")
    for cls in _registered_classes():
        loaded[f"{cls.__module__}.{cls.__qualname__}"] = _checkable(cls)
    if not loaded:
        loaded[ALL] = (f"no async connector is registered in flytekit's ConnectorRegistry after loading "
                       f"{len(plugins)} '{GROUP}' entry point(s)")
    return loaded


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    group = entry_points().select(group=GROUP)  # has select() on every Python the suite supports (>= 3.10)
    return list({plugin.name: plugin for plugin in group}.values())  # a dist on sys.path twice lists twice


def _registered_classes() -> list[type]:
    """Every connector class the plugins registered, flytekit's own left out."""
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    classes = dict.fromkeys(type(c) for c in ConnectorRegistry._REGISTRY.values())
    return [cls for cls in classes if not cls.__module__.startswith(BUILT_IN)]


def _checkable(cls: type) -> type | str:
    """The class if the suite can check it, else the reason (an :class:`Uncheckable` for sync connectors)."""
    from flytekit.extend.backend.base_connector import AsyncConnectorBase

    spec = f"{cls.__module__}.{cls.__qualname__}"
    if not issubclass(cls, AsyncConnectorBase):
        return Uncheckable(f"not checked: {spec} is not an AsyncConnectorBase (a sync connector answers in one "
                           "do() call; the suite checks the create/get/delete contract)")
    try:
        return validate_connector_class(cls, spec)
    except ConnectorLoadError as exc:
        return str(exc)


@contextlib.contextmanager
def _implicit_plugins_deferred() -> Iterator[None]:
    """Import flytekit without its ``load_implicit_plugins`` step.

    ``import flytekit`` loads every plugin itself and one broken plugin makes that import raise;
    hiding the group during the first import lets :func:`discover` load and report each one.
    """
    metadata: Any = importlib.import_module("importlib.metadata")  # Any: ModuleType declares no entry_points
    original = metadata.entry_points
    metadata.entry_points = lambda **params: [] if params.get("group") == GROUP else original(**params)
    try:
        yield
    finally:
        metadata.entry_points = original
