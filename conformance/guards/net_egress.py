"""Network egress guard: only loopback is reachable while connector code runs under the suite.

A suite pointed at unreviewed connector code must never touch a real cloud account. While the guard is
active, ``socket.socket.connect``/``connect_ex`` and ``socket.getaddrinfo`` (which ``create_connection``,
asyncio and aiohttp resolve through) refuse any destination that is not loopback, before a packet (or a
DNS query) leaves, and record who tried. The harness's own traffic (gRPC, the fake backends) is loopback.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from dataclasses import dataclass
from typing import Any

from conformance.errors import EgressRefused
from conformance.guards.frames import ConnectorCode, StackEntry, current_stack, describe

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


@dataclass
class EgressAttempt:
    destination: str
    how: str
    stack: list[StackEntry]

    def render(self, code: ConnectorCode) -> str:
        return f"{self.how} {self.destination} from {describe(code.innermost(self.stack))}"


def is_local(host: Any) -> bool:
    """Loopback names and addresses, the unspecified address, and passive (host-less) lookups."""
    if host in (None, "", b""):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%")[0]
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class EgressGuard:
    """Context manager: refuses non-loopback connects and lookups process-wide; ``attempts`` lists them."""

    def __init__(self) -> None:
        self.attempts: list[EgressAttempt] = []
        self._lock = threading.Lock()

    def _refuse(self, host: Any, port: Any, how: str) -> EgressRefused | None:
        if is_local(host):
            return None
        destination = f"{host}:{port}"
        with self._lock:
            self.attempts.append(EgressAttempt(destination, how, current_stack()))
        return EgressRefused(destination)

    def __enter__(self) -> EgressGuard:
        self._saved = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
        connect, connect_ex, getaddrinfo = self._saved
        guard = self

        def guarded_connect(sock: socket.socket, address: Any) -> None:
            refused = guard._check(sock, address)
            if refused:
                raise refused
            return connect(sock, address)

        def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
            return errno.ECONNREFUSED if guard._check(sock, address) else connect_ex(sock, address)

        def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            refused = guard._refuse(host, port, "resolve")
            if refused:
                raise refused
            return getaddrinfo(host, port, *args, **kwargs)

        # setattr: patching the stdlib is this guard's whole point, and its signature is the original's.
        setattr(socket.socket, "connect", guarded_connect)
        setattr(socket.socket, "connect_ex", guarded_connect_ex)
        setattr(socket, "getaddrinfo", guarded_getaddrinfo)
        return self

    def _check(self, sock: socket.socket, address: Any) -> EgressRefused | None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None  # unix sockets and the like stay on this machine
        return self._refuse(address[0], address[1], "connect to")

    def __exit__(self, *exc_info: object) -> None:
        for owner, name, saved in zip((socket.socket, socket.socket, socket),
                                      ("connect", "connect_ex", "getaddrinfo"), self._saved):
            setattr(owner, name, saved)
