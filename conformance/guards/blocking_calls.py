"""Blocking calls on the service's event loop, found at any backend latency (F-WIRE-4).

The stall watchdog (``loop_watch``) sees a blocked loop only when the block outlasts its threshold, and
a fake backend answers in a millisecond where a real one takes hundreds: a synchronous HTTP client inside
``async def`` would pass. So the calls themselves are watched: blocking socket operations (``connect``,
``getaddrinfo`` and friends through an audit hook; ``send``/``recv`` by patching ``socket.socket``) on a
socket that is not in non-blocking mode, and ``time.sleep``, each counted only when it runs on the
loop thread with the connector's own code on the stack. asyncio and aiohttp use non-blocking sockets and
resolve names in worker threads, ``run_in_executor``/``to_thread`` move work off the loop, and flytekit
and gRPC frames are never blamed, so a correct connector is not reported. Constructing the connector is
exempt (the platform does it at import, off the loop), as are imports.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.guards.frames import ConnectorCode, StackEntry, current_stack, describe, importing
from conformance.guards.loop_watch import LoopWatch

AUDITED = {
    "socket.connect": "socket.connect",
    "socket.getaddrinfo": "socket.getaddrinfo",
    "socket.gethostbyname": "socket.gethostbyname",
    "socket.gethostbyaddr": "socket.gethostbyaddr",
}
"""Audit events of blocking socket calls; for ``socket.connect`` the socket's mode decides. (A UDP sendto,
e.g. a statsd metric, does not wait on a peer and is not watched.)"""
PATCHED = ("send", "sendall", "recv", "recv_into")
"""``socket.socket`` methods with no audit event: a pooled connection sends and receives without connecting."""


@dataclass
class BlockingCall:
    """``what`` ran on the loop thread while connector code was at ``frame``."""

    what: str
    frame: StackEntry

    def __str__(self) -> str:
        return f"{self.what} blocked the event loop at {describe(self.frame)}"


class BlockingCalls:
    """Context manager: records blocking calls connector code makes on the loop of ``loop_watch``."""

    def __init__(self, loop_watch: LoopWatch):
        self._loop_watch = loop_watch
        self.code: ConnectorCode | None = None
        self.calls: list[BlockingCall] = []

    def __enter__(self) -> BlockingCalls:
        _activate(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _deactivate(self)

    def seen(self, what: Callable[[], str], sock: socket.socket | None = None) -> None:
        """Record ``what()`` if it runs on the loop thread, in connector code, on a blocking socket."""
        code = self.code
        if code is None or threading.get_ident() != self._loop_watch.loop_thread_id or self._loop_watch.exempted:
            return
        if sock is not None and _non_blocking(sock):
            return
        stack = current_stack()
        frame = None if importing(stack) else code.innermost(stack)
        if frame is not None:
            self.calls.append(BlockingCall(what(), frame))


def _non_blocking(sock: Any) -> bool:
    try:
        return sock.gettimeout() == 0.0
    except Exception:
        return True  # closed or not a socket: nothing to wait on


_active: list[BlockingCalls] = []
_lock = threading.Lock()
_saved: dict[str, Any] = {}
_hooked = False


def _audit(event: str, args: tuple) -> None:
    if event not in AUDITED or not _active:  # first: the hook runs for every audit event in the process
        return
    sock = args[0] if event == "socket.connect" else None
    _active[-1].seen(lambda: f"{AUDITED[event]}({_shown(args[1:] if sock is not None else args)})", sock)


def _shown(args: tuple) -> str:
    return ", ".join(f"{arg!r:.60}" for arg in args[:2])


def _activate(watch: BlockingCalls) -> None:
    """Push ``watch``; the first one in installs the patches (nested watches share them)."""
    global _hooked
    with _lock:
        if not _hooked:
            sys.addaudithook(_audit)  # audit hooks cannot be removed: installed once, idle when nothing watches
            _hooked = True
        if not _active:
            _install()
        _active.append(watch)


def _deactivate(watch: BlockingCalls) -> None:
    with _lock:
        _active.remove(watch)
        if not _active:
            _uninstall()


def _install() -> None:
    _saved["sleep"] = time.sleep
    sleep = time.sleep

    def watched_sleep(seconds: float) -> None:
        if _active and seconds > 0:
            _active[-1].seen(lambda: f"time.sleep({seconds!r})")
        sleep(seconds)

    setattr(time, "sleep", watched_sleep)  # the deliberate patch: sleeps on the loop thread are recorded
    for name in PATCHED:
        _saved[name] = socket.socket.__dict__.get(name)  # None: inherited from _socket.socket
        setattr(socket.socket, name, _watched_method(name, getattr(socket.socket, name)))


def _watched_method(name: str, method: Callable) -> Callable:
    def watched(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if _active:
            _active[-1].seen(lambda: f"socket.{name}() on a blocking socket", sock)
        return method(sock, *args, **kwargs)

    return watched


def _uninstall() -> None:
    time.sleep = _saved.pop("sleep")
    for name in PATCHED:
        own = _saved.pop(name)
        if own is None:
            delattr(socket.socket, name)
        else:
            setattr(socket.socket, name, own)
