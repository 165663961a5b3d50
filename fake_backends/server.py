"""The job service behind real HTTP on 127.0.0.1, in a background thread.

The server runs its own event loop in its own thread so that synchronous test
code and connector code on any other event loop can both talk to it. Every
fault and latency is applied in one middleware, keyed by the route's name,
which is the operation's name.

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

import asyncio
import concurrent.futures
import contextlib
import threading
from types import TracebackType
from typing import Any, Awaitable, Callable, Iterator

from aiohttp import web

from .control import Job
from .faults import Fault
from .jobs import InjectedFault, InvalidRequest, JobConflict, JobNotFound, JobService, JobServiceError

__all__ = ["FakeJobServer", "serve_jobs"]

LOOPBACK = "127.0.0.1"
#: The longest a "timeout" fault holds a request before dropping it; stop()
#: releases held requests at once.
HOLD_LIMIT = 30.0
#: Bound on graceful shutdown and on waiting for the server thread, so that
#: stop() returns promptly even if something unforeseen hangs.
SHUTDOWN_LIMIT = 2.0

_ERROR_STATUS: dict[type[JobServiceError], int] = {InvalidRequest: 400, JobNotFound: 404, JobConflict: 409}

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _job_view(job: Job) -> dict[str, Any]:
    """The one JSON shape of a job, shared by every endpoint that returns jobs."""
    return {"job_id": job.job_id, "state": job.state, "message": job.message, "outputs": job.outputs}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _retry_after(seconds: float | None) -> dict[str, str] | None:
    """The Retry-After header; fractions are kept (non-standard) so fast tests can honour it."""
    return None if seconds is None else {"Retry-After": format(seconds, "g")}


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("request body must be JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


class _JobApi:
    """The aiohttp application over one :class:`JobService`.

    ``closing`` is set when the server stops; every wait the fake imposes
    (latency, "timeout" faults) ends on it, which is what lets stop() return
    promptly while a request is being held open.
    """

    def __init__(self, service: JobService, closing: asyncio.Event) -> None:
        self._service = service
        self._closing = closing

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._disrupt])
        app.router.add_post("/jobs", self._submit, name="submit")
        app.router.add_get("/jobs", self._list, name="list")
        app.router.add_get("/jobs/{job_id}", self._status, name="status")
        app.router.add_post("/jobs/{job_id}/cancel", self._cancel, name="cancel")
        app.router.add_get("/jobs/{job_id}/outputs", self._outputs, name="outputs")
        return app

    @web.middleware
    async def _disrupt(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        """Apply latency and injected faults, and map every error to a JSON error response."""
        op = request.match_info.route.name
        if op is not None:
            await self._pause(self._service.latency_for(op))
        try:
            return await handler(request)
        except InjectedFault as injected:
            return await self._inflict(request, injected.fault)
        except JobServiceError as error:
            return _error(_ERROR_STATUS[type(error)], str(error))
        except web.HTTPException as rejected:  # unknown path or method: keep errors JSON
            return _error(rejected.status, rejected.reason)

    async def _inflict(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """Answer as ``fault.kind`` says; a held "timeout" request is dropped in the end."""
        if fault.kind == "http":
            return _error(fault.status, f"injected fault on {fault.op}", _retry_after(fault.retry_after))
        if fault.kind == "timeout":
            await self._pause(HOLD_LIMIT)
        if request.transport is not None:
            request.transport.abort()
        # Never reaches the client: the connection is gone. aiohttp still wants a response.
        return web.Response()

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the server is stopping."""
        if seconds > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    async def _submit(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        job = self._service.submit(body.get("spec", {}), body.get("inputs", {}), body.get("idempotency_key"))
        return web.json_response(_job_view(job))

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(_job_view(self._service.status(request.match_info["job_id"])))

    async def _cancel(self, request: web.Request) -> web.Response:
        return web.json_response(_job_view(self._service.cancel(request.match_info["job_id"])))

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response({"jobs": [_job_view(job) for job in self._service.list_jobs()]})

    async def _outputs(self, request: web.Request) -> web.Response:
        return web.json_response({"outputs": self._service.outputs(request.match_info["job_id"])})


class FakeJobServer:
    """A :class:`JobService` served over HTTP on an ephemeral loopback port.

    The server is itself a :class:`BackendControl` (delegating to
    :attr:`service`), so a test holds one object for both the URL and the
    control plane. Use it as a context manager, or call :meth:`start` and
    :meth:`stop`.
    """

    def __init__(self, service: JobService | None = None) -> None:
        self._service = service if service is not None else JobService()
        # BackendControl, delegated: the service's own bound methods, so
        # signatures and defaults are written once, in JobService.
        self.script = self._service.script
        self.fault = self._service.fault
        self.invisible_for = self._service.invisible_for
        self.purge = self._service.purge
        self.latency = self._service.latency
        self.counters = self._service.counters
        self.jobs = self._service.jobs
        self.live_jobs = self._service.live_jobs
        self.reset = self._service.reset
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self._port: int | None = None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> FakeJobServer:
        """Bind a free port on 127.0.0.1 and serve until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        started: concurrent.futures.Future[int] = concurrent.futures.Future()
        thread = threading.Thread(target=asyncio.run, args=(self._serve(started),), name="fake-job-server", daemon=True)
        thread.start()
        try:
            self._port = started.result(timeout=SHUTDOWN_LIMIT)
        except BaseException:
            thread.join(SHUTDOWN_LIMIT)
            raise
        self._thread = thread
        return self

    def stop(self) -> None:
        """Stop serving, releasing held requests, the port and the thread; idempotent."""
        thread, loop, closing = self._thread, self._loop, self._closing
        if thread is None or loop is None or closing is None:
            return
        loop.call_soon_threadsafe(closing.set)
        thread.join(SHUTDOWN_LIMIT * 2)
        self._thread = self._loop = self._closing = self._port = None
        if thread.is_alive():
            raise RuntimeError("fake job server thread did not stop")

    def __enter__(self) -> FakeJobServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def _serve(self, started: concurrent.futures.Future[int]) -> None:
        """The server thread's main coroutine: serve until ``closing`` is set."""
        closing = asyncio.Event()
        runner = web.AppRunner(_JobApi(self._service, closing).app(), access_log=None, shutdown_timeout=SHUTDOWN_LIMIT)
        try:
            await runner.setup()
            await web.TCPSite(runner, LOOPBACK, 0).start()
        except Exception as error:
            await runner.cleanup()
            started.set_exception(error)
            return
        self._loop, self._closing = asyncio.get_running_loop(), closing
        started.set_result(runner.addresses[0][1])
        try:
            await closing.wait()
        finally:
            await runner.cleanup()

    @property
    def service(self) -> JobService:
        """The state machine behind the HTTP API."""
        return self._service

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``; only while the server runs."""
        if self._port is None:
            raise RuntimeError("server not started")
        return f"http://{LOOPBACK}:{self._port}"


@contextlib.contextmanager
def serve_jobs(**service_options: Any) -> Iterator[FakeJobServer]:
    """Serve a fresh :class:`JobService` built with ``service_options`` for the ``with`` block."""
    with FakeJobServer(JobService(**service_options)) as server:
        yield server
