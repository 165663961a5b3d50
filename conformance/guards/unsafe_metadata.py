"""Unsafe metadata: a resource meta that is a pickle stream, or a decode() that runs code (F-WIRE-2).

Anyone who can read the workflow object can write to it too, so the meta is untrusted input to decode().
An audit hook (``sys.addaudithook``) sees unpickling of classes, ``exec``/``eval`` and ``marshal.loads``.
Audit hooks cannot be removed, so one is installed once per process and only reports while the current
thread is armed: nothing the harness or other threads do is recorded.
"""

from __future__ import annotations

import contextlib
import inspect
import pickletools
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from conformance.guards.frames import ConnectorCode, StackEntry, current_stack, describe

WATCHED_EVENTS = {
    "pickle.find_class": "unpickles a class",
    "exec": "executes code (exec/eval)",
    "marshal.loads": "unmarshals code",
}

_armed = threading.local()
_install_lock = threading.Lock()
_installed = False


@dataclass
class AuditEvent:
    event: str
    args: str
    stack: list[StackEntry]

    def render(self, code: ConnectorCode) -> str:
        return (f"{WATCHED_EVENTS[self.event]}: {self.event}({self.args}) "
                f"at {describe(code.innermost(self.stack))}")


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event not in WATCHED_EVENTS:  # first: the hook runs for every audit event in the process
        return
    events: list[AuditEvent] | None = getattr(_armed, "events", None)
    if events is not None:
        events.append(AuditEvent(event, ", ".join(f"{arg!r:.60}" for arg in args), current_stack()))


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


def audited(func: Callable[[], Any]) -> Callable[[], tuple[Any, list[AuditEvent]]]:
    """``func`` wrapped to run armed in whichever thread calls it; returns (result or exception, events)."""
    _install()

    def call() -> tuple[Any, list[AuditEvent]]:
        events: list[AuditEvent] = []
        _armed.events = events
        try:
            return func(), events
        except Exception as exc:
            return exc, events
        finally:
            _armed.events = None

    return call


def is_pickle_stream(data: bytes) -> bool:
    """Whether ``data`` parses as one whole pickle (any protocol), ending in its STOP opcode."""
    try:
        ops = list(pickletools.genops(data))
    except Exception:
        return False
    return len(ops) > 1 and ops[-1][0].name == "STOP" and ops[-1][2] == len(data) - 1


DecodeSeen = Callable[[bytes, list[AuditEvent]], None]
"""Called after every decode() with the bytes it was given and what the audit hook saw it do."""


@contextlib.contextmanager
def watching_decode(meta_type: Any, seen: DecodeSeen) -> Iterator[None]:
    """Every ``meta_type.decode`` call, by the service, a clause or fuzzing, runs armed until the block ends.

    The class attribute is replaced for the duration and restored after (deleted again if decode was
    inherited), so the evidence covers every path that decodes, in every thread.
    """
    descriptor: Any = inspect.getattr_static(meta_type, "decode", None) if inspect.isclass(meta_type) else None
    if not hasattr(descriptor, "__get__"):
        yield
        return
    original = meta_type.__dict__.get("decode")
    _install()

    def watched(cls: type, data: bytes) -> Any:
        decode = descriptor.__get__(None, cls)
        if getattr(_armed, "events", None) is not None:  # a watch installed earlier, called by a later one
            return decode(data)
        result, events = audited(lambda: decode(data))()
        with contextlib.suppress(Exception):
            seen(data, events)
        if isinstance(result, Exception):
            raise result
        return result

    try:
        meta_type.decode = classmethod(watched)
    except Exception:  # a metaclass that refuses: that class's decode goes unwatched
        yield
        return
    try:
        yield
    finally:
        if original is None:
            del meta_type.decode
        else:
            meta_type.decode = original
