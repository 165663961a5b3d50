"""Ways a call into connector code can go wrong, as the harness sees them."""

from __future__ import annotations


class ConnectorCallError(Exception):
    """A call into the connector (directly or through the service) did not return normally."""


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
        self.method = method
        self.code = code
        self.details = details
        super().__init__(f"{method} failed with {code}: {last_line(details)}")


def brief(exc: BaseException) -> str:
    """``Type: first line`` — enough to recognise an exception without its traceback."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def last_line(details: str) -> str:
    """flytekit puts the whole traceback into INTERNAL details; the last line says what happened."""
    lines = [line.strip() for line in details.strip().splitlines() if line.strip()]
    return lines[-1].rstrip(".") if lines else "(no details)"
