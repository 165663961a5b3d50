"""Ways a call into connector code can go wrong, as the harness sees them."""

from __future__ import annotations

import errno
import os
import re


class ConnectorCallError(Exception):
    """A call into the connector (directly or through the service) did not return normally."""

    what: str  # the call's name; every subclass sets it


class CallTimedOut(ConnectorCallError):
    def __init__(self, what: str, deadline: float):
        self.what = what
        self.deadline = deadline
        super().__init__(f"{what} did not return within {deadline:g} s")


class CallCrashed(ConnectorCallError):
    def __init__(self, what: str, exc: BaseException):
        self.what = what
        self.exc = exc
        super().__init__(f"{what} raised {brief(exc)}")


class RpcFailed(ConnectorCallError):
    """A gRPC call to the connector service ended with a non-OK status."""

    def __init__(self, method: str, code: str, details: str):
        self.method = self.what = method  # ``what``: the name every ConnectorCallError carries
        self.code = code
        self.details = details
        where = user_frame(details)
        super().__init__(f"{method} failed with {code}: {last_line(details)}" + (f" (at {where})" if where else ""))


class EgressRefused(ConnectionRefusedError):
    """Raised in connector code by the NET-EGRESS guard: the suite reaches loopback only."""

    def __init__(self, destination: str):
        self.destination = destination
        super().__init__(errno.ECONNREFUSED, f"conformance NET-EGRESS guard refused a connection to {destination}: "
                                             "only loopback is reachable in connector tests "
                                             "(--connector-allow-network turns the guard off for live tests)")


TEXT_LIMIT = 500
"""Characters of connector-supplied text (an exception's first line, a status detail's last line) that a
failure quotes: enough to recognise it. A backend's whole answer in an exception (20 MB were seen) must
not become the report."""


def cut(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text``, or its first ``limit`` characters and how many more there were."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def brief(exc: BaseException) -> str:
    """``Type: first line`` — enough to recognise an exception without its traceback; a long line is cut."""
    text = str(exc).strip()
    newline = _NEWLINE.search(text)
    first = text[:newline.start()] if newline else text
    return f"{type(exc).__name__}: {cut(first.rstrip())}" if first else type(exc).__name__


_NEWLINE = re.compile(r"[\r\n]")


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def user_frame(details: str) -> str:
    """The innermost traceback frame outside flytekit, grpc and asyncio: where the connector failed."""
    frames = [m for m in _FRAME.finditer(details) if not _LIBRARY.search(m.group(1))]
    if not frames:
        return ""
    path, line, func = frames[-1].groups()
    return f"{os.path.basename(path)}:{line} in {func}"


_LIBRARY = re.compile(r"[/\\](flytekit|grpc|asyncio|concurrent|google)[/\\]")


def last_line(details: str, limit: int = TEXT_LIMIT) -> str:
    """flytekit puts the whole traceback into INTERNAL details; the last line says what happened."""
    text = details.rstrip()
    newline = max(text.rfind("\n"), text.rfind("\r"))
    last = text[newline + 1:].strip().rstrip(".")
    return cut(last, limit) if last else "(no details)"
