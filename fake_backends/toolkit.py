"""The toolkit for a fake of a real service: its routes and answers in, the control plane for free.

A fake is a :class:`ServiceApi` subclass: the service's state vocabulary (:class:`States`), its
routes (aiohttp route definitions, each named after the :data:`OPERATIONS` entry it performs), and
the shape of its error answers. :class:`FakeServer` hosts it on 127.0.0.1 over HTTP or HTTPS (a CA
made for the test run, see :mod:`fake_backends.tls`) and is itself the :class:`BackendControl`:
scripts, faults (error answers, hangs, resets, lost answers), latency, invisibility, purges and
the ledger all come from the :class:`JobService` behind it, so every fault clause of the suite
works against the new fake unchanged.

A worked fake of a REST job service is in ``docs/writing-a-fake.md``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from aiohttp import web

from .control import NotModelled
from .faults import Fault
from .jobs import InjectedFault, InvalidRequest, JobConflict, JobNotFound, JobService, JobServiceError
from .states import GENERIC, States

__all__ = ["ServiceApi", "FakeServer", "serve", "json_body", "NotModelled"]

LOOPBACK = "127.0.0.1"
#: The longest a "timeout" fault holds a request before dropping it; stop() releases held requests at once.
HOLD_LIMIT = 30.0
#: Bound on graceful shutdown and on waiting for the server thread, so stop() returns promptly.
SHUTDOWN_LIMIT = 2.0

_ERROR_STATUS: dict[type[JobServiceError], int] = {InvalidRequest: 400, JobNotFound: 404, JobConflict: 409}

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; anything else is the service's 400 answer."""
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("request body must be JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


class ServiceApi:
    """One service's wire protocol over a :class:`JobService`; subclass it for each fake.

    ``service`` is the state machine behind the routes: call its data operations (``submit``,
    ``status``, ``cancel``, ``list_jobs``, ``outputs``) and translate jobs into the service's own
    JSON. A :class:`JobServiceError` a route lets escape is answered by :meth:`error`; a route
    that must answer otherwise (a service whose cancel of a finished job is a no-op) catches it.
    """

    name: ClassVar[str] = "service"
    """Short name of the service, for thread names and messages."""
    states: ClassVar[States] = GENERIC
    """The service's state names; scripts and the ledger use them."""

    def __init__(self, service: JobService) -> None:
        self.service = service

    def routes(self) -> Iterable[web.RouteDef]:
        """The service's endpoints, each ``name=``d after the operation it performs (for faults)."""
        raise NotImplementedError

    def operation(self, request: web.Request) -> str | None:
        """The operation a request performs; the route name unless one path serves many (AWS JSON)."""
        return request.match_info.route.name

    def error(self, status: int, message: str) -> web.Response:
        """The service's error answer; override with its real shape (and the API reference)."""
        return web.json_response({"error": message}, status=status)

    def not_modelled(self, control: str) -> str | None:
        """Why the real service has no such behaviour (e.g. ``"invisible_for"``), or None when it has."""
        return None


_Api = TypeVar("_Api", bound=ServiceApi)


class _Disruption:
    """The middleware every fake shares: latency, injected faults, and errors in the service's shape.

    ``closing`` is set when the server stops; every wait the fake imposes ends on it, which is
    what lets stop() return promptly while a request is held open.
    """

    def __init__(self, api: ServiceApi, closing: asyncio.Event) -> None:
        self._api = api
        self._closing = closing

    @web.middleware
    async def middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        op = self._api.operation(request)
        if op is not None:
            await self.pause(self._api.service.latency_for(op))
        try:
            return await handler(request)
        except InjectedFault as injected:
            return await self._inflict(request, injected.fault)
        except JobServiceError as error:
            return self._api.error(_ERROR_STATUS[type(error)], str(error))
        except web.HTTPException as rejected:  # unknown path or method: still the service's error shape
            return self._api.error(rejected.status, rejected.reason)

    async def _inflict(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """Answer as ``fault.kind`` says; a held "timeout" request is dropped in the end."""
        if fault.kind == "http":
            response = self._api.error(fault.status, f"injected fault on {fault.op}")
            if fault.retry_after is not None:  # fractions kept (non-standard) so fast tests can honour it
                response.headers["Retry-After"] = format(fault.retry_after, "g")
            return response
        if fault.kind == "timeout":
            await self.pause(HOLD_LIMIT)
        if request.transport is not None:
            request.transport.abort()
        return web.Response()  # never reaches the client: the connection is gone

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the server is stopping."""
        if seconds > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)


class FakeServer:
    """A :class:`ServiceApi` served on an ephemeral 127.0.0.1 port, and its :class:`BackendControl`.

    The server runs its own event loop in its own thread, so synchronous test code and connector
    code on any other loop can both talk to it. ``tls=True`` serves HTTPS with a certificate from
    the run's CA (:func:`fake_backends.tls.trust`), which clients trust through the standard
    ``SSL_CERT_FILE`` variables: no client's private attributes are touched.
    """

    def __init__(self, api: type[ServiceApi], *, tls: bool = False, service: JobService | None = None,
                 **service_options: Any) -> None:
        self._service = service if service is not None else JobService(states=api.states, **service_options)
        self.api = api(self._service)
        self._tls = tls
        # BackendControl, delegated to the service's own bound methods: signatures written once.
        self.script = self._service.script
        self.fault = self._service.fault
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

    @property
    def states(self) -> States:
        return self._service.states

    @property
    def service(self) -> JobService:
        """The state machine behind the API."""
        return self._service

    def invisible_for(self, reads: int) -> None:
        """See :meth:`BackendControl.invisible_for`; :class:`NotModelled` where the service is consistent."""
        reason = self.api.not_modelled("invisible_for")
        if reason is not None:
            raise NotModelled(reason)
        self._service.invisible_for(reads)

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:<port>``; only while the server runs."""
        return f"{'https' if self._tls else 'http'}://{self.address}"

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``: for clients configured with a host rather than a URL."""
        if self._port is None:
            raise RuntimeError("server not started")
        return f"{LOOPBACK}:{self._port}"

    def start(self: _Self) -> _Self:
        """Bind a free port on 127.0.0.1 and serve until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        started: concurrent.futures.Future[int] = concurrent.futures.Future()
        thread = threading.Thread(target=asyncio.run, args=(self._serve(started),),
                                  name=f"fake-{self.api.name}-server", daemon=True)
        thread.start()
        try:
            self._port = started.result(timeout=SHUTDOWN_LIMIT * 5)
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
            raise RuntimeError(f"fake {self.api.name} server thread did not stop")

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self._tls:
            return None
        from .tls import server_context

        return server_context()

    async def _serve(self, started: concurrent.futures.Future[int]) -> None:
        """The server thread's main coroutine: serve until ``closing`` is set."""
        closing = asyncio.Event()
        app = web.Application(middlewares=[_Disruption(self.api, closing).middleware])
        app.add_routes(self.api.routes())
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_LIMIT)
        try:
            await runner.setup()
            await web.TCPSite(runner, LOOPBACK, 0, ssl_context=self._ssl_context()).start()
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


_Self = TypeVar("_Self", bound=FakeServer)


@contextlib.contextmanager
def serve(api: type[ServiceApi], *, tls: bool = False, **service_options: Any) -> Iterator[FakeServer]:
    """A started :class:`FakeServer` for ``api`` around a fresh :class:`JobService`, for the ``with`` block."""
    with FakeServer(api, tls=tls, **service_options) as server:
        yield server
