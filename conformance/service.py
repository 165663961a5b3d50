"""The embedded connector service: flytekit's own ``AsyncConnectorService`` on a loopback gRPC port.

``pyflyte serve connector`` runs every connector's coroutines on one event loop (F-WIRE-4); the
runtime here does the same on a background thread, so the suite's client (the "platform") keeps
its own thread and its deadlines fire even when a connector blocks or crashes that loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
import os
import threading
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import grpc

from conformance.errors import CallCrashed, CallTimedOut, brief, cut, last_line, user_frame
from conformance.guards.loop_watch import LoopWatch

LOOPBACK = "127.0.0.1"
SYNC_WORKERS = 10
"""Worker threads for synchronous connector methods, as in ``pyflyte serve connector`` (F-WIRE-4)."""
LOG_LIMIT = 2000
"""Characters of one flytekit log record kept while the service is hosted (its message and traceback)."""
EXCERPT_LIMIT = 300
FLYTEKIT_LOGGERS = ("flytekit", "user_space", "developer")


class ServiceLog(logging.Handler):
    """flytekit's loggers while the service is hosted: plain records cut to LOG_LIMIT, counted, kept in a
    file only when asked (``keep_in``), never on the console.

    flytekit installs rich's handler, which highlights a message while holding the GIL in the service thread:
    a 100 kB exception message took 90 s (every deadline missed, the wrong diagnosis), 20 MB hung the run. And
    each failed RPC logs its whole traceback: one recursion bug printed 44 of them. The failure names the
    count and the file instead (``excerpt``).
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
        self.count = 0
        self.first = ""
        """The last line of the first record since ``mark()``: the excerpt a failure shows."""
        self.path = ""
        self._file: Any = None
        self._saved = [(logger, list(logger.handlers), logger.propagate)
                       for logger in map(logging.getLogger, FLYTEKIT_LOGGERS)]
        for logger, _, _ in self._saved:
            logger.handlers = [self]
            logger.propagate = False

    def format(self, record: logging.LogRecord) -> str:
        return cut(super().format(record), LOG_LIMIT)

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if not self.first:  # flytekit's error records end with the exception's line: what the excerpt shows
            self.first = last_line(record.getMessage(), EXCERPT_LIMIT)
        if self._file is not None:
            self._file.write(self.format(record) + "\n")
            self._file.flush()

    def keep_in(self, path: str) -> None:
        """Append every record to ``path`` from now on ("": keep none)."""
        path = os.path.abspath(path) if path else ""
        if path != self.path:
            self.close_file()
            self._file = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115 - closed in close()
            self.path = path

    def mark(self, path: str) -> int:
        """Start counting for one clause, keeping records in ``path`` ("": none); the count so far."""
        self.keep_in(path)
        self.first = ""
        return self.count

    def excerpt(self, since: int) -> str:
        """What a failure says about the records logged since ``mark()`` returned ``since``."""
        logged = self.count - since
        if not logged:
            return ""
        where = f"all in {self.path}" if self.path else "keep them with --connector-service-log=PATH"
        return (f"flytekit logged {logged} record(s) in the connector service during this clause; the first ends: "
                f"{self.first} ({where})")

    def close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def restore(self) -> None:
        """flytekit's own handlers back (the user's process goes on after the session)."""
        for logger, handlers, propagate in self._saved:
            logger.handlers = handlers
            logger.propagate = propagate
        self.close_file()


class ServiceRuntime:
    """An event loop thread with the connector gRPC service on it; survives crashes of connector code."""

    def __init__(self) -> None:
        from flytekit.extend.backend.base_connector import ConnectorRegistry

        self._registry = ConnectorRegistry
        # grpc logs a traceback wall when connector code kills a handler; the crash is reported instead.
        self._grpc_log = logging.getLogger("grpc._cython.cygrpc")
        self._grpc_log_level = self._grpc_log.level
        self._grpc_log.setLevel(logging.CRITICAL)
        self.log = ServiceLog()
        self._saved_routes = dict(ConnectorRegistry._REGISTRY)
        self.crashes: list[str] = []
        self.crashed = threading.Event()
        self._stopping = False
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(
            SYNC_WORKERS, thread_name_prefix="connector-service-worker"))
        self._thread = threading.Thread(target=self._serve_forever, name="connector-service", daemon=True)
        self._thread.start()
        self.loop_watch = LoopWatch(self.loop, self._thread)
        self._server, self.port = self._submit(self._start_server()).result(timeout=10)
        self.channel = grpc.insecure_channel(f"{LOOPBACK}:{self.port}")

    def _serve_forever(self) -> None:
        # SystemExit/KeyboardInterrupt raised by connector code outside an RPC handler (a task or a
        # callback of its own) escape asyncio and stop the loop; the real service process would die.
        # Record it and keep serving.
        while not self._stopping:
            try:
                self.loop.run_forever()
            except BaseException as exc:  # noqa: B036
                self._record_crash(exc)

    def _contained(self, service: Any) -> Any:
        """flytekit's service, each RPC handler recording a SystemExit/KeyboardInterrupt instead of raising it.

        Raised on, it would reach gRPC's task callbacks, which print a traceback per RPC; recorded, the
        channel is closed (that is what tells the platform) and the runtime is replaced before the next
        clause. One frame per RPC: wrapping every task on the loop instead cost about 1 ms of a 17 ms
        lifecycle.
        """
        from flyteidl.service.agent_pb2_grpc import AsyncAgentServiceServicer

        for name in vars(AsyncAgentServiceServicer):
            handler = None if name.startswith("_") else getattr(service, name)
            if inspect.iscoroutinefunction(handler):
                setattr(service, name, self._contain(handler))
        return service

    def _contain(self, handler: Callable[..., Awaitable]) -> Callable[..., Awaitable]:
        @functools.wraps(handler)
        async def contained(request: Any, context: Any) -> Any:
            try:
                return await handler(request, context)
            except (SystemExit, KeyboardInterrupt) as exc:
                self._record_crash(exc)
                await context.abort(grpc.StatusCode.UNAVAILABLE, f"the connector service died: {self.crashes[-1]}")

        return contained

    def _record_crash(self, exc: BaseException) -> None:
        where = user_frame("".join(traceback.format_exception(exc)))
        self.crashes.append(brief(exc) + (f" (at {where})" if where else ""))
        self.crashed.set()
        # Closing the channel ends the platform's in-flight calls now, as the real process's death
        # would; a handler whose task died with the loop would otherwise hold them to their deadline.
        self.channel.close()

    async def _start_server(self):
        from flyteidl.service.agent_pb2_grpc import add_AsyncAgentServiceServicer_to_server
        from flytekit.extend.backend.connector_service import AsyncConnectorService

        server = grpc.aio.server()
        add_AsyncAgentServiceServicer_to_server(self._contained(AsyncConnectorService()), server)
        port = server.add_insecure_port(f"{LOOPBACK}:0")
        await server.start()
        return server, port

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def install(self, connector: Any) -> None:
        """Route the connector's task category to this instance (what registration does at import).

        Writes the routing table directly: ``ConnectorRegistry.register`` would also append to the
        metadata listing on every call, growing it once per test.
        """
        self._registry._REGISTRY[connector.task_category] = connector

    def run(self, make: Callable[[], Awaitable], deadline: float, what: str) -> Any:
        """Await ``make()`` on the service loop, bounded by ``deadline`` seconds.

        Every BaseException from connector code (SystemExit included) comes back as
        :class:`CallCrashed`, so it fails a clause instead of ending the session.
        """
        future = self._submit(_shielded(make))
        try:
            outcome = future.result(timeout=deadline)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise CallTimedOut(what, deadline) from None
        if isinstance(outcome, _Raised):
            raise CallCrashed(what, outcome.exc) from outcome.exc
        return outcome

    def run_blocking(self, func: Callable[[], Any], deadline: float, what: str) -> Any:
        """Synchronous connector code (encode/decode) in a worker thread, bounded like ``run``."""
        return self.run(lambda: self.loop.run_in_executor(None, func), deadline, what)

    def healthy(self, timeout: float = 1.0) -> bool:
        """Whether the loop still answers: a connector may have left it blocked forever."""
        if not self._thread.is_alive():
            return False
        try:
            self._submit(asyncio.sleep(0)).result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            return False
        return True

    def close(self, timeout: float = 2.0) -> None:
        """Stop server, channel and loop; restore the routing table; never wait past ``timeout``."""
        self._registry._REGISTRY.clear()
        self._registry._REGISTRY.update(self._saved_routes)
        self._grpc_log.setLevel(self._grpc_log_level)
        self.log.restore()
        self.loop_watch.close()
        self.channel.close()
        self._stopping = True
        if self.healthy(timeout):
            try:
                self._submit(self._server.stop(None)).result(timeout=timeout)
            except concurrent.futures.TimeoutError:
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()
        # else: a connector holds the loop in a blocking call; the daemon thread is abandoned.


class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc


async def _shielded(make: Callable[[], Awaitable]) -> Any:
    try:
        return await make()
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # noqa: B036 - connector code may raise SystemExit and friends
        return _Raised(exc)


class ServiceHost:
    """Hands out a healthy runtime, replacing one a connector broke; one per session."""

    def __init__(self) -> None:
        self._runtime: ServiceRuntime | None = None

    def runtime(self) -> ServiceRuntime:
        runtime = self._runtime
        if runtime is not None and not runtime.crashed.is_set() and runtime.healthy():
            return runtime
        self.close()
        self._runtime = ServiceRuntime()
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
