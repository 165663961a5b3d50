"""The job service behind real HTTP on 127.0.0.1, in a background thread.

Built with the toolkit (:mod:`fake_backends.toolkit`) like any fake of a real
service: this module is only the generic service's routes and JSON shapes.

HTTP contract (all bodies JSON; errors are ``{"error": "..."}``)::

    POST /jobs                      {"spec": {}, "inputs": {}, "idempotency_key": str|null}
                                    -> 200 job view (state "SUBMITTED") | 400
    GET  /jobs/{job_id}             -> 200 job view | 404
    POST /jobs/{job_id}/cancel      -> 200 job view (state "CANCELLING") | 404 | 409
    GET  /jobs                      -> 200 {"jobs": [job view, ...]}
    GET  /jobs/{job_id}/outputs     -> 200 {"outputs": {...}} | 404 | 409

A job view is ``{"job_id", "state", "message", "outputs"}``, with ``outputs``
null unless the job SUCCEEDED.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from aiohttp import web

from .control import Job
from .jobs import JobService
from .toolkit import FakeServer, ServiceApi, json_body

__all__ = ["FakeJobServer", "JobApi", "serve_jobs"]


def _job_view(job: Job) -> dict[str, Any]:
    """The one JSON shape of a job, shared by every endpoint that returns jobs."""
    return {"job_id": job.job_id, "state": job.state, "message": job.message, "outputs": job.outputs}


class JobApi(ServiceApi):
    """The generic job service's HTTP contract (see the module docstring)."""

    name = "job"

    def routes(self) -> Iterable[web.RouteDef]:
        return [
            web.post("/jobs", self._submit, name="submit"),
            web.get("/jobs", self._list, name="list"),
            web.get("/jobs/{job_id}", self._status, name="status"),
            web.post("/jobs/{job_id}/cancel", self._cancel, name="cancel"),
            web.get("/jobs/{job_id}/outputs", self._outputs, name="outputs"),
        ]

    async def _submit(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        job = self.service.submit(body.get("spec", {}), body.get("inputs", {}), body.get("idempotency_key"))
        return web.json_response(_job_view(job))

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(_job_view(self.service.status(request.match_info["job_id"])))

    async def _cancel(self, request: web.Request) -> web.Response:
        return web.json_response(_job_view(self.service.cancel(request.match_info["job_id"])))

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response({"jobs": [_job_view(job) for job in self.service.list_jobs()]})

    async def _outputs(self, request: web.Request) -> web.Response:
        return web.json_response({"outputs": self.service.outputs(request.match_info["job_id"])})


class FakeJobServer(FakeServer):
    """A :class:`JobService` served over HTTP on an ephemeral loopback port.

    The server is itself a :class:`BackendControl` (delegating to
    :attr:`service`), so a test holds one object for both the URL and the
    control plane. Use it as a context manager, or call :meth:`start` and
    :meth:`stop`.
    """

    def __init__(self, service: JobService | None = None) -> None:
        super().__init__(JobApi, service=service)


@contextlib.contextmanager
def serve_jobs(**service_options: Any) -> Iterator[FakeJobServer]:
    """Serve a fresh :class:`JobService` built with ``service_options`` for the ``with`` block."""
    with FakeJobServer(JobService(**service_options)) as server:
        yield server
