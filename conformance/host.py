"""The connector host: connector code runs in a child process, so nothing it does can take the run down.

Design (docs/isolation.md has the measurements). In production the connector service is a process of
its own; here it is too. Each pytest process (each xdist worker) has ONE persistent child, started
with ``subprocess`` (not fork: macOS, grpc and execnet threads) while pytest collects, so its flytekit
import overlaps the parent's. For every clause the parent sends a request: the clause's id, the subject
(cloudpickle; the fake backend stays here, the child gets a :class:`BackendProxy` over the pipe), the
connector's :class:`~conformance.probe.Probe`, the parent's ``sys.path``, environment and working
directory. The child answers with ``probe.decide(...) or run_clause(...)``, exactly what the in-process
path does, and the probe's new state, which the parent keeps: so a fresh child (after a crash, or one
per clause with ``isolation=clause``) carries on from what the last one learned.

While a request is in flight the child names the probe step it is on and sends a heartbeat. A child
that dies (``os._exit``, a signal, closed descriptors, the address-space limit) or stops answering
(native code holding the GIL, a stopped process) makes the clause in flight CRASHED, with its exit
status, an excerpt of its log and the path of the whole log; the next clause gets a new child. Died in
a probe step, the step is remembered as broken, so the clauses that need it are BLOCKED naming it.

The child runs in its own session: closing it kills its whole process group, so processes the
connector started (reported by HYGIENE first) are reaped. Its stdin is /dev/null, its stdout/stderr
and TMPDIR are in a per-run directory that is removed at exit; a crashed child's log is kept as one
file in the temp directory, named in the CRASHED message.

    python -m conformance.host <fd> <MiB> <run dir> <parent pid>    (the child; started by ConnectorHost)
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import faulthandler
import importlib
import io
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from typing import TYPE_CHECKING, Any

from conformance import fresh_process
from conformance.clause import Clause, ClauseFailure
from conformance.config import MEMORY_LIMIT, ConformanceConfig
from conformance.errors import brief

if TYPE_CHECKING:
    from conformance.probe import Probe
    from conformance.run import ClauseResult, Subject
    from conformance.service import ServiceHost

STARTUP_ALLOWANCE = 60.0
"""Seconds for a child to start and import flytekit and the connector before its first sign of life."""
HEARTBEAT = 0.5
"""Seconds between the child's signs of life while it works on a request."""
STALL_GRACE = 5.0
"""Seconds of silence past the call deadline before a child is declared stuck: no call may take longer."""
EXCERPT_LINES = 20
DUMP_WAIT = 0.5
"""Seconds a stuck child is given to write its stacks before it is killed."""
LOG_TAIL = 64 * 1024
BACKEND_TOKEN = "conformance-backend"
"""Stands for the subject's fake backend in the pickle, wherever the subject refers to it (e.g. in a
factory's closure): the child puts a proxy there."""
_METHOD = "<method>"


def clause_bound(config: ConformanceConfig) -> float:
    """More than any clause needs (a few lifecycles, a few dozen calls): only a runaway child reaches it."""
    return STARTUP_ALLOWANCE + 3 * config.budget + 10 * config.deadline


# --- the parent's side --------------------------------------------------------------------------------

class ConnectorHost:
    """One child process running connector code for this process's clauses, until it dies or is closed."""

    def __init__(self, memory_limit: int, run_dir: str, number: int) -> None:
        self.memory_limit = memory_limit
        self.log_path = os.path.join(run_dir, f"host-{number}.log")
        self.step: Any = None
        """The probe step in flight (a Needs), or None: the clause itself."""
        child_tmp = os.path.join(run_dir, f"tmp-{number}")
        os.mkdir(child_tmp)
        self._conn, theirs = Pipe()
        with open(self.log_path, "wb") as log:
            self.child = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno()), str(memory_limit), run_dir, str(os.getpid())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=dict(os.environ, TMPDIR=child_tmp),
            )
        theirs.close()

    def exchange(self, payload: bytes, backend: Any, config: ConformanceConfig) -> tuple:
        """Send one request and serve the child's backend calls until it answers ("result", ...) or
        ("unpicklable", why); ("lost", how) when it died, went silent or ran past the clause bound."""
        self.step = None
        began = last = time.monotonic()
        stall, bound, alive = config.deadline + STALL_GRACE, clause_bound(config), False
        try:
            self._conn.send_bytes(payload)
        except OSError:
            return "lost", self._gone("could not be sent the request")
        while True:
            now = time.monotonic()
            if now - began > bound:
                return "lost", self._stacks_dumped(f"did not finish within {bound:g} s")
            if now - last > (stall if alive else STARTUP_ALLOWANCE):
                return "lost", self._stacks_dumped(f"stopped answering (no sign of life for {now - last:.0f} s: "
                                                   "native code holding the GIL, or the process was stopped)")
            try:
                if not self._conn.poll(0.1):
                    if self.child.poll() is not None:
                        return "lost", self._gone("")
                    continue
                message = self._conn.recv()
            except (EOFError, OSError):
                return "lost", self._gone("closed its connection to the suite")
            alive, last = True, time.monotonic()
            if message[0] == "step":
                self.step = message[1]
            elif message[0] == "backend":
                self._conn.send(_backend_answer(backend, *message[1:]))
            elif message[0] != "beat":
                return message

    def _stacks_dumped(self, how: str) -> str:
        """Ask the child's faulthandler for every thread's stack (it needs no GIL), for the excerpt."""
        with contextlib.suppress(OSError):
            os.kill(self.child.pid, signal.SIGUSR1)
            time.sleep(DUMP_WAIT)
        return how

    def _gone(self, otherwise: str) -> str:
        """How the child ended: its exit status, once it has one (a second at most), else ``otherwise``."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.child.wait(1.0)
        code = self.child.returncode
        if code is None:
            return otherwise
        if code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with status {code}"

    def keep_log(self) -> str:
        """Move the child's log out of the run directory (removed at exit), into the temp directory; "" when
        it is empty (a process killed outright writes nothing)."""
        kept = os.path.join(tempfile.gettempdir(), f"conformance-crash-{os.getpid()}-"
                            f"{os.path.basename(self.log_path)}")
        try:
            if not os.path.getsize(self.log_path):
                return ""
            shutil.move(self.log_path, kept)
        except OSError:
            return self.log_path
        return kept

    def close(self) -> None:
        """Kill the child and its whole process group (what connector code started), and wait for it."""
        with contextlib.suppress(OSError):
            os.killpg(self.child.pid, signal.SIGKILL)
        self.child.wait()
        self._conn.close()


def _backend_answer(backend: Any, name: str, args: tuple | None, kwargs: dict | None) -> tuple[bool, Any]:
    """(ok, value): an attribute (args None: its value, or a marker that it is a method) or a call's result."""
    try:
        attribute = getattr(backend, name)
        if args is None:
            return True, _METHOD if callable(attribute) else attribute
        return True, attribute(*args, **(kwargs or {}))
    except Exception as exc:
        return False, exc


class _Hosts:
    """This process's host, replaced when it dies, and the run directory its children work in."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.host: ConnectorHost | None = None
        self.run_dir: str | None = None
        self.started = 0
        self.in_process: set[str] = set()
        """Connectors whose subject cannot travel to the host: they run here (noted once)."""

    def ready(self, memory_limit: int) -> ConnectorHost:
        with self.lock:
            host = self.host
            if host is not None and (host.child.poll() is not None or host.memory_limit != memory_limit):
                self.retire()
            if self.host is None:
                if self.run_dir is None:
                    self.run_dir = tempfile.mkdtemp(prefix="conformance-host-")
                self.started += 1
                self.host = ConnectorHost(memory_limit, self.run_dir, self.started)
            return self.host

    def retire(self) -> None:
        with self.lock:
            if self.host is not None:
                self.host.close()
                self.host = None

    def shutdown(self) -> None:
        with self.lock:
            self.retire()
            self.in_process.clear()
            if self.run_dir is not None:
                shutil.rmtree(self.run_dir, ignore_errors=True)
                self.run_dir = None


_hosts = _Hosts()


def prestart(config: ConformanceConfig) -> None:
    """Start the process that will run connector code now, so its imports overlap the parent's collection;
    with it, the fresh process META-FRESH-PROCESS decodes in (here with isolation=none, else the host's)."""
    if config.isolation == "none":
        fresh_process.prestart()
    else:
        _hosts.ready(config.memory_limit)


@atexit.register
def shutdown() -> None:
    """End the host and what it started, and remove the run directory (at exit, and after each session)."""
    _hosts.shutdown()


@atexit.register
def _remove_flytekit_scratch() -> None:
    """flytekit makes two temp dirs when imported (data_persistence, Config) and never removes them."""
    persistence = sys.modules.get("flytekit.core.data_persistence")
    configuration = sys.modules.get("flytekit.configuration")
    made = [getattr(persistence, "flyte_tmp_dir", None)]
    if configuration is not None:
        made += [f.default for f in dataclasses.fields(configuration.Config) if f.name == "local_sandbox_path"]
    for path in made:
        if isinstance(path, str) and os.path.basename(path).startswith("flyte"):
            shutil.rmtree(path, ignore_errors=True)


def decide_or_run(clause: Clause, subject: Subject, config: ConformanceConfig, probe: Probe,
                  service: ServiceHost, stay_here: str = "") -> ClauseResult:
    """``probe.decide(...) or run_clause(...)`` where ``config.isolation`` says: in the host (process,
    clause) or here (none; a subject that cannot be sent to the host; ``stay_here``, why the caller knows
    it must not move, e.g. patches that live in this process). pytest and check_connector both come here."""

    why = ""
    if config.isolation != "none" and subject.name not in _hosts.in_process:
        why = stay_here
        if not why:
            try:
                payload = _payload(clause, subject, config, probe)
            except Unsendable as exc:
                why = f"its subject cannot be sent to the connector host ({exc})"
            else:
                result, why = _hosted(clause, subject, config, probe, payload)
                if result is not None:
                    return result
        _hosts.in_process.add(subject.name)
    result = decided_or_run_here(clause, subject, config, probe, service)
    if why:
        result.notes.append(f"{subject.name} runs in the suite's own process (as with isolation=none): {why}")
    return result


def decided_or_run_here(clause: Clause, subject: Subject, config: ConformanceConfig, probe: Probe,
                        service: ServiceHost, clause_starts: Callable[[], None] = lambda: None) -> ClauseResult:
    """The probe's verdict on the clause, else the clause run in this process (the host's, or the suite's
    with isolation=none); ``clause_starts`` is told when the probe is done and the clause itself runs."""
    from conformance.run import run_clause

    decided = probe.decide(clause, subject, service.runtime, config)
    if decided is not None:
        return decided
    clause_starts()
    return run_clause(clause, subject, service.runtime(), config)


def _hosted(clause: Clause, subject: Subject, config: ConformanceConfig, probe: Probe,
            payload: bytes) -> tuple[ClauseResult | None, str]:
    """The result from the host, or (None, why) when the child could not unpickle the subject."""
    from conformance.run import ClauseResult

    host = _hosts.ready(config.memory_limit)
    answer = host.exchange(payload, subject.backend, config)
    if answer[0] == "unpicklable":
        return None, f"its subject cannot be sent to the connector host ({answer[1]})"
    if answer[0] == "result":
        _, fields, state = answer
        probe.restore(state)
        result = ClauseResult(clause, **fields)
    else:
        result = _crashed(clause, subject, host, answer[1], probe)
    if answer[0] != "result" or config.isolation == "clause":
        _hosts.retire()
        _hosts.ready(config.memory_limit)  # the next clause's child starts now, while this one is reported
    return result, ""


class Unsendable(Exception):
    """The subject cannot be pickled for the host."""


def _payload(clause: Clause, subject: Subject, config: ConformanceConfig, probe: Probe) -> bytes:
    """The request: plain data first (the import path the subject needs), then the subject by cloudpickle."""
    import cloudpickle

    class _Pickler(cloudpickle.Pickler):
        def persistent_id(self, obj: Any) -> str | None:
            return BACKEND_TOKEN if obj is subject.backend and obj is not None else None

    hosted = dataclasses.replace(config, isolation="none", memory_limit=MEMORY_LIMIT)  # the child is the limit
    buffer = io.BytesIO()
    try:
        _Pickler(buffer).dump((subject, hosted, probe))
    except Exception as exc:  # whatever cloudpickle meets in a subject: a lock, a socket, a generator
        raise Unsendable(brief(exc)) from None
    where = ([os.path.abspath(p) for p in sys.path], dict(os.environ), os.getcwd())
    return pickle.dumps((clause.id, where, buffer.getvalue()))


def _crashed(clause: Clause, subject: Subject, host: ConnectorHost, how: str, probe: Probe) -> ClauseResult:
    """CRASHED, naming how the host ended, where, and its log; a probe step it died in is broken from now on."""
    from conformance.probe import SetupFailure
    from conformance.run import ClauseResult, Outcome

    host.close()
    log = host.keep_log()
    where = f"the setup probe's {host.step.name} step" if host.step is not None else "the clause"
    message = ClauseFailure(
        expected=f"{subject.name}'s code returns or raises, in the connector host process",
        observed="\n".join([f"the host process {how}, during {where} of {clause.id}",
                             *_crash_excerpt(_tail(log)), f"full log: {log}" if log else "(its log is empty)"]),
        consequence="In production this ends or stalls the connector service process: every task of every "
                    "connector on that pod errors until it restarts (F-WIRE-4).",
        fix="Find the call in the excerpt (os._exit, a signal, a native extension, unbounded memory, closed "
            "file descriptors, native code that never releases the GIL) and make it raise an Exception.",
    ).render()
    if host.step is not None:
        cause = f"the connector host process {how} during the setup probe's {host.step.name} step"
        probe.restore((host.step, SetupFailure(host.step, cause, message, clause.id, settled=True)))
    return ClauseResult(clause, Outcome.CRASHED, message)


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(max(0, os.path.getsize(path) - LOG_TAIL))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _crash_excerpt(log: str) -> list[str]:
    """faulthandler's verdict and the crashing thread's stack, or for a stuck child the stack of the thread
    that was not waiting (faulthandler dumps every thread); else the log's tail."""
    lines = log.strip().splitlines()
    fatal = [line for line in lines if line.startswith("Fatal Python error")][:1]
    blocks = _thread_stacks(lines)
    chosen = [b for b in blocks if b[0].startswith("Current thread")] if fatal else \
        [b for b in blocks if len(b) > 1 and not b[1].strip().startswith(IDLE_FRAMES)]
    if not chosen:
        return lines[-EXCERPT_LINES:]
    return (fatal + chosen[-1 if fatal else 0])[:EXCERPT_LINES]


_STDLIB = os.path.dirname(threading.__file__)
IDLE_FRAMES = (f'File "{os.path.abspath(__file__)}"', *(f'File "{_STDLIB}/{name}' for name in (
    "threading.py", "selectors.py", "queue.py", "multiprocessing/connection.py", "concurrent/futures/thread.py")))
"""Where the host's own threads wait: a dumped stack starting there is not the one that is stuck."""


def _thread_stacks(lines: list[str]) -> list[list[str]]:
    """faulthandler's dumps, one list per thread: its header line, then its frames."""
    blocks: list[list[str]] = []
    for line in lines:
        if line.startswith(("Current thread 0x", "Thread 0x")):
            blocks.append([line])
        elif blocks and line.startswith("  File"):
            blocks[-1].append(line)
    return blocks


# --- the child's side ---------------------------------------------------------------------------------

class _Heartbeat(threading.Thread):
    """Signs of life while a request is in flight; ends the child (and its group) when the parent is gone.

    Named like the service's threads, so HYGIENE does not count it as the connector's."""

    def __init__(self, conn: Connection, run_dir: str, parent: int) -> None:
        super().__init__(name="connector-service-heartbeat", daemon=True)
        self.conn = conn
        self.parent = parent
        self.run_dir = run_dir
        self.busy = False
        self._lock = threading.Lock()

    def send(self, message: Any) -> None:
        with self._lock:
            self.conn.send(message)

    def run(self) -> None:
        while True:
            time.sleep(HEARTBEAT)
            if os.getppid() != self.parent:
                orphaned(self.run_dir)
            if self.busy:
                with contextlib.suppress(OSError):
                    self.send(("beat",))


def orphaned(run_dir: str) -> None:
    """The parent died without closing us: remove its run directory, and end this process group."""
    shutil.rmtree(run_dir, ignore_errors=True)
    os.killpg(os.getpgrp(), signal.SIGKILL)


class BackendProxy:
    """The parent's fake backend, seen from the child: attributes and calls go over the pipe."""

    def __init__(self, conn: Connection, send: Any):
        self._conn = conn
        self._send = send
        self._lock = threading.Lock()

    def _ask(self, name: str, args: tuple | None = None, kwargs: dict | None = None) -> Any:
        with self._lock:
            self._send(("backend", name, args, kwargs))
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


class _Child:
    """The host's main loop: one request at a time, on one ServiceHost kept across requests."""

    def __init__(self, conn: Connection, beat: _Heartbeat) -> None:
        from hypothesis.configuration import set_hypothesis_home_dir

        from conformance.service import ServiceHost

        self.conn, self.beat = conn, beat
        self.tmp = os.environ["TMPDIR"]
        set_hypothesis_home_dir(os.path.join(beat.run_dir, "hypothesis"))  # not .hypothesis/ in the user's tree
        self.service = ServiceHost()
        self.service.runtime()  # flytekit's service, started before the first request arrives
        fresh_process.prestart()  # for META-FRESH-PROCESS; in this process group, so it is reaped with it

    def serve(self) -> None:
        while True:
            try:
                data = self.conn.recv_bytes()
            except (EOFError, OSError):
                return
            self.beat.busy = True
            try:
                answer = self.answer(data)
            finally:
                self.beat.busy = False
            self.beat.send(answer)

    def answer(self, data: bytes) -> tuple:
        from conformance.clause import clause_by_id
        from conformance.guards.evidence import ledger_for
        from conformance.probe import cut_tour
        from conformance.run import ClauseResult, Outcome, harness_error

        clause_id, (path, environ, cwd), body = pickle.loads(data)
        self._take(path, environ, cwd)
        unpickler = pickle.Unpickler(io.BytesIO(body))
        backend = BackendProxy(self.conn, self.beat.send)
        setattr(unpickler, "persistent_load", lambda token: backend)  # the backend travels as a reference
        try:
            subject, config, probe = unpickler.load()
        except Exception as exc:
            return "unpicklable", f"unpickling it in the host failed: {brief(exc)}"
        clause = clause_by_id(clause_id)
        probe.on_step = lambda step: self.beat.send(("step", step))
        cut_tour(ledger_for(self.service.runtime().loop_watch, subject.name), probe.state()[1])
        try:
            result = decided_or_run_here(clause, subject, config, probe, self.service,
                                         lambda: self.beat.send(("step", None)))
        except Exception as exc:  # the clauses contain connector errors; what is left is ours
            result = ClauseResult(clause, Outcome.ERROR, harness_error(exc))
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "clause"}
        return "result", fields, probe.state()

    def _take(self, path: list[str], environ: dict[str, str], cwd: str) -> None:
        """The parent's import path, environment and directory as of this request (a chdir does not stick)."""
        sys.path[:0] = [p for p in path if p not in sys.path]
        importlib.invalidate_caches()
        os.environ.clear()
        os.environ.update(environ, TMPDIR=self.tmp)
        os.chdir(cwd)


def _limit_memory(memory_mib: int) -> None:
    limit = memory_mib << 20
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def _child_main(fd: int, memory_mib: int, run_dir: str, parent: int) -> None:
    conn = Connection(fd)
    beat = _Heartbeat(conn, run_dir, parent)
    beat.start()
    faulthandler.enable()
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # a stuck child's stacks, asked for by its parent
    _limit_memory(memory_mib)
    tempfile.tempdir = os.environ["TMPDIR"]
    _Child(conn, beat).serve()
    if os.getppid() != parent:  # the pipe ended because the parent did (before the heartbeat could tell)
        orphaned(run_dir)
    os._exit(0)  # non-daemon threads connector code left must not keep the host alive


if __name__ == "__main__":
    _child_main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
