"""Process isolation (opt-in, ``--connector-isolate``): one clause run in a child process.

Design note. The unit isolated is one ``run_clause`` call, not one connector: the pytest plugin runs
one test per clause with fresh fixtures, and the fake backend a clause steers lives in the test's
process, so a clause run is what can move to a child without changing the plugin. The price is a fresh
interpreter per clause (about two seconds of imports), which is why isolation is opt-in, for connectors
that may take the interpreter down. The subject travels with cloudpickle (factories may be lambdas or
partials); its fake backend stays here, and the child's calls to it come back over the pipe. The child
runs the ordinary ``run_clause`` with its address space capped (RLIMIT_AS) and is killed past a time
bound. A child that dies (``os._exit``, a signal such as SIGSEGV, the allocator failing) fails the
clause with its exit status and the crashing thread's stack (faulthandler), or the tail of its stderr.

    python -m conformance.guards.process_isolation <fd> <MiB>    (the child; started by run_isolated)
"""

from __future__ import annotations

import dataclasses
import faulthandler
import io
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection, Pipe
from typing import TYPE_CHECKING, Any

from conformance.clause import Clause, ClauseFailure
from conformance.config import ConformanceConfig
from conformance.errors import brief

if TYPE_CHECKING:
    from conformance.run import ClauseResult, Subject

STARTUP_ALLOWANCE = 60.0
"""Seconds for the child to start and import the connector, on top of the clause's own bound."""
STDERR_LINES = 20


def clause_bound(config: ConformanceConfig) -> float:
    """More than any clause needs (a few lifecycles, a few dozen calls): only a hung child reaches it."""
    return STARTUP_ALLOWANCE + 3 * config.budget + 10 * config.deadline


def run_isolated(clause: Clause, subject: Subject, config: ConformanceConfig) -> ClauseResult:
    """``run_clause`` in a child process; a child that dies or hangs is this clause's failure."""
    from conformance.run import ClauseResult, Outcome

    try:
        payload = _payload(clause, subject, config)
    except Exception as exc:
        return ClauseResult(clause, Outcome.FAIL, f"--connector-isolate cannot send {subject.name} to a child "
                                                  f"process: {brief(exc)}")
    ours, theirs = Pipe()
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno()), str(config.memory_limit)],
            pass_fds=(theirs.fileno(),), stderr=stderr, env=_child_env(),
        )
        theirs.close()
        deadline = time.monotonic() + clause_bound(config)
        try:
            ours.send_bytes(payload)
            answer = _serve(child, ours, subject.backend, deadline)
        finally:
            hung = time.monotonic() >= deadline
            _stop(child)
            ours.close()
        if answer is not None:
            outcome, message, notes = answer
            return ClauseResult(clause, Outcome(outcome), message, notes)
        stderr.seek(0)
        excerpt = _crash_excerpt(stderr.read().decode("utf-8", "replace"))
    how = f"did not finish within {clause_bound(config):g} s and was killed" if hung else _exit_status(child)
    return ClauseResult(clause, Outcome.FAIL, _died(subject.name, how, excerpt))


BACKEND_TOKEN = "conformance-backend"
"""Stands for the subject's fake backend in the pickle, wherever the subject refers to it (e.g. in a
factory's closure): the child puts a proxy there."""


def _payload(clause: Clause, subject: Subject, config: ConformanceConfig) -> bytes:
    import cloudpickle

    class _Pickler(cloudpickle.Pickler):
        def persistent_id(self, obj: Any) -> str | None:
            return BACKEND_TOKEN if obj is subject.backend and obj is not None else None

    buffer = io.BytesIO()
    _Pickler(buffer).dump((clause.id, subject, dataclasses.replace(config, isolate=False)))
    return buffer.getvalue()


def _child_env() -> dict:
    """The parent's import path, so the child imports the connector the same way."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(os.path.abspath(p) for p in sys.path))


def _serve(child: subprocess.Popen, conn: Connection, backend: Any, deadline: float) -> tuple | None:
    """Answer the child's backend calls until it sends its result; None if it died or ran out of time."""
    while time.monotonic() < deadline:
        if not conn.poll(0.1):
            if child.poll() is not None:
                return None
            continue
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return None
        if message[0] == "result":
            return message[1:]
        conn.send(_backend_answer(backend, *message[1:]))
    return None


def _backend_answer(backend: Any, name: str, args: tuple | None, kwargs: dict | None) -> tuple[bool, Any]:
    """(ok, value): an attribute (args None: its value, or a marker that it is a method) or a call's result."""
    try:
        attribute = getattr(backend, name)
        if args is None:
            return True, _METHOD if callable(attribute) else attribute
        return True, attribute(*args, **(kwargs or {}))
    except Exception as exc:
        return False, exc


_METHOD = "<method>"


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()


def _crash_excerpt(stderr: str) -> list[str]:
    """faulthandler's verdict and the crashing thread's stack (it dumps every thread), else the stderr tail."""
    lines = stderr.strip().splitlines()
    fatal = [line for line in lines if line.startswith("Fatal Python error")]
    start = next((i for i, line in enumerate(lines) if line.startswith("Current thread")), None)
    if not fatal or start is None:
        return lines[-STDERR_LINES:]
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return fatal[:1] + lines[start:min(end, start + STDERR_LINES)]


def _exit_status(child: subprocess.Popen) -> str:
    if child.returncode < 0:
        return f"was killed by {signal.Signals(-child.returncode).name}"
    return f"exited with status {child.returncode} without reporting a result"


def _died(name: str, how: str, excerpt: list[str]) -> str:
    return ClauseFailure(
        expected=f"the clause's calls into {name} return, in its isolated child process",
        observed=f"the child process running the clause {how}" + ("\nits stderr:\n" + "\n".join(excerpt)
                                                                 if excerpt else ""),
        consequence="In production this ends the connector service process: every task of every connector "
                    "on that pod errors until it restarts (F-WIRE-4).",
        fix="Find the call in the stack above (os._exit, a native extension, unbounded memory) and make it "
            "raise an Exception instead of ending the process.",
    ).render()


class BackendProxy:
    """The parent's fake backend, seen from the child: attributes and calls go over the pipe."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._lock = threading.Lock()

    def _ask(self, name: str, args: tuple | None = None, kwargs: dict | None = None) -> Any:
        with self._lock:
            self._conn.send(("backend", name, args, kwargs))
            ok, value = self._conn.recv()
        if not ok:
            raise value
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._ask(name)
        if value != _METHOD:
            return value
        return lambda *args, **kwargs: self._ask(name, args, kwargs)


def _child_main(fd: int, memory_mib: int) -> None:
    limit = memory_mib << 20
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    faulthandler.enable()
    conn = Connection(fd)
    unpickler = pickle.Unpickler(io.BytesIO(conn.recv_bytes()))
    backend = BackendProxy(conn)
    setattr(unpickler, "persistent_load", lambda token: backend)  # the backend travels as a reference
    clause_id, subject, config = unpickler.load()
    from conformance.clause import all_clauses
    from conformance.run import run_clause
    from conformance.service import ServiceHost

    host = ServiceHost()
    try:
        result = run_clause(next(c for c in all_clauses() if c.id == clause_id), subject, host.runtime(), config)
    finally:
        host.close()
    conn.send(("result", result.outcome.value, result.message, result.notes))


if __name__ == "__main__":
    _child_main(int(sys.argv[1]), int(sys.argv[2]))
