"""Bindings: what the suite knows about real connector classes, so they run with no conftest.

A real plugin's connector needs three things the suite cannot guess: a realistic task template
(its own custom config, built with the plugin's own task classes), inputs, and a way to reach a
service. A :class:`Binding` gives all three for one connector class: a fake of its service
(``fake_backends.<service>``), the template and inputs, and the environment that points the
plugin's own client library at the fake (endpoint variables, the run's CA, dummy credentials).
``pytest --connector=<plugin class>``, ``--connector=all``, :func:`conformance.check_connector`
and load mode all look bindings up here (:func:`subject_of`, and the fixtures that compose the same
functions); every part stays overridable with the fixtures.

Binding modules (``conformance/bindings/<service>.py``) import nothing heavy at import time:
the plugin and the fake are imported inside the functions, when a clause runs.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

SERVICES = ("openai", "databricks", "sagemaker", "bigquery")
"""Modules of this package that hold bindings, each with a ``BINDINGS`` list."""

Backend = Any
"""A started fake: a :class:`fake_backends.BackendControl`."""


@dataclass(frozen=True)
class Binding:
    """How to check one connector class against a fake of its service."""

    connector: str
    """The class as ``module.Qualname``, the way ``--connector`` names it."""
    distribution: str
    """The pip distribution that ships the connector (for the results page and install hints)."""
    backend: Callable[[], AbstractContextManager[Backend]]
    """Starts a fresh fake of the service (one per test, as the ``fake_job_service`` fixture)."""
    template: Callable[[Backend], Any]
    """The task template, built with the plugin's own task classes; may name the fake's address."""
    inputs: Callable[[Backend], Any] = lambda backend: None
    """The task's inputs (LiteralMap, protobuf or dict); None: the template declares none."""
    environment: Callable[[Backend], Mapping[str, str]] = lambda backend: {}
    """Variables that point the plugin's client at the fake while connector code runs."""
    notes: str = ""
    """What the binding redirects and why, for the docs."""


DEFAULT_IMAGE = "cr.flyte.org/flyteorg/flytekit:py3.11-1.16.31"


def registered_template(task: Any, image: str = DEFAULT_IMAGE) -> Any:
    """The task's TaskTemplate exactly as ``pyflyte register`` serializes it (the plugin's own get_custom)."""
    from collections import OrderedDict

    from flytekit.configuration import Image, ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    default = Image.look_up_image_info("default", image)
    settings = SerializationSettings(project="flytesnacks", domain="development", version="v1",
                                     image_config=ImageConfig(default_image=default, images=[default]))
    return get_serializable(OrderedDict(), settings, task).template


def spec_of(connector_class: type) -> str:
    return f"{connector_class.__module__}.{connector_class.__qualname__}"


ENTRY_POINTS = "flyte_connector_conformance.bindings"
"""Entry-point group through which another distribution ships bindings: each names a list of :class:`Binding`."""


def all_bindings() -> list[Binding]:
    """Every binding the suite ships, in :data:`SERVICES` order, then those other distributions declare.

    A connector's own package (or a fakes package) declares, in its pyproject.toml::

        [project.entry-points."flyte_connector_conformance.bindings"]
        my_service = "my_pkg.conformance:BINDINGS"
    """
    found: list[Binding] = []
    for service in SERVICES:
        found.extend(importlib.import_module(f"{__name__}.{service}").BINDINGS)
    return found + list(_declared(tuple(sys.path)))


@functools.lru_cache(maxsize=8)
def _declared(path: tuple[str, ...]) -> tuple[Binding, ...]:
    """The bindings other distributions declare, per ``sys.path``: scanning every installed distribution's
    metadata takes about 10 ms, and every test of a run asks (issue #14: 0.4 s of a reference run)."""
    from importlib.metadata import entry_points

    return tuple(binding for declared in entry_points(group=ENTRY_POINTS) for binding in declared.load())


def binding_for(connector_class: type) -> Binding | None:
    """The binding for this exact class, or None (subclasses are other connectors)."""
    spec = spec_of(connector_class)
    return next((binding for binding in all_bindings() if binding.connector == spec), None)


@dataclass
class BoundParts:
    """What a binding contributes to a :class:`conformance.run.Subject`, for one started fake."""

    backend: Backend
    template: Any
    inputs: Any
    environment: dict[str, str]


def subject(connector_class: type, factory: Any, template: Any, inputs: Any, backend: Any,
            strategies: dict[type, Any], parts: BoundParts | None) -> Any:
    """The :class:`conformance.run.Subject`; what the caller leaves None comes from the binding, if any."""
    from conformance.run import Subject

    if parts is None:
        return Subject(connector_class.__name__, factory, template, inputs, backend, strategies)
    return Subject(connector_class.__name__, factory,
                   parts.template if template is None else template,
                   parts.inputs if inputs is None else inputs,
                   backend, strategies, environment=parts.environment)


def default_backend(connector_class: type, parts: BoundParts | None,
                    job_service: Callable[[], Backend]) -> Backend | None:
    """The fake the connector talks to unless the caller gives one: the binding's, else a fake job service
    for a class declaring ``conformance_backend = "jobs"`` (``job_service`` starts it, only then), else None."""
    from conformance.backends import speaks_job_api

    if parts is not None:
        return parts.backend
    return job_service() if speaks_job_api(connector_class) else None


@contextlib.contextmanager
def subject_of(connector: type | str, build: Callable[[Backend | None], Any] | None = None, template: Any = None,
               inputs: Any = None, strategies: dict[type, Any] | None = None) -> Iterator[Any]:
    """The :class:`conformance.run.Subject` of a connector class (or its ``--connector`` spec), for the ``with``
    block: bound, backed and built exactly as the pytest plugin's fixtures do it, for check_connector and
    load mode. ``build(backend)`` returns an instance for connectors that need more than the default."""
    from conformance.backends import default_factory, started_job_service
    from conformance.loading import load_connector_class

    cls = connector if isinstance(connector, type) else load_connector_class(connector)
    with contextlib.ExitStack() as stack:
        parts = stack.enter_context(bound(binding_for(cls)))
        backend = default_backend(cls, parts, lambda: stack.enter_context(started_job_service(template)))
        factory = default_factory(cls, backend) if build is None else functools.partial(build, backend)
        yield subject(cls, factory, template, inputs, backend, strategies or {}, parts)


@contextlib.contextmanager
def bound(binding: Binding | None) -> Iterator[BoundParts | None]:
    """Start the binding's fake and derive template, inputs and environment from it (None: unbound)."""
    if binding is None:
        yield None
        return
    with binding.backend() as backend:
        yield BoundParts(backend, binding.template(backend), binding.inputs(backend),
                         dict(binding.environment(backend)))
