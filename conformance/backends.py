"""Which fake backend a connector gets by default: pytest-free, so check_connector and load mode share it."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def started_job_service(template: Any | None) -> Iterator[Any]:
    from conformance.task import as_template_pb, default_template, sample_outputs
    from fake_backends import serve_jobs

    template_pb = default_template("any", 0) if template is None else as_template_pb(template)
    with serve_jobs(default_outputs=sample_outputs(template_pb)) as server:
        yield server


def speaks_job_api(connector_class: type) -> bool:
    """Connectors that declare ``conformance_backend = "jobs"`` take ``base_url=`` and are bound automatically."""
    return getattr(connector_class, "conformance_backend", None) == "jobs"


def default_factory(connector_class: type, backend: Any | None) -> Any:
    if backend is not None and speaks_job_api(connector_class):
        return functools.partial(connector_class, base_url=backend.url)
    return connector_class
