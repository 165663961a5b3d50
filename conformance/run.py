"""Running clauses: the library core that the pytest plugin, the subclass style and a CLI all call.

``check_connector(subject)`` needs no pytest. A :class:`Subject` is everything the author declares
about the connector under test; a :class:`ClauseRun` is one clause's private world: fresh connector
instances, the platform client, direct calls, the fake backend, and the transcript. It is the whole
API a clause body uses: every call into connector code goes through it, bounded by the call deadline
and recorded in the transcript, so a clause never handles the service runtime or deadlines itself.
A :class:`ClauseResult` is the verdict, with the structured :class:`~conformance.clause.ClauseFailure`
behind a FAIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import inspect
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar
from unittest import mock

import grpc

from conformance.clause import Clause, ClauseFailure, ClauseSkip, Prose, all_clauses, clause_by_id
from conformance.config import ConformanceConfig
from conformance.errors import CallCrashed, CallTimedOut, ConnectorCallError, RpcFailed, brief
from conformance.guards.active import ActiveGuards
from conformance.guards.evidence import ledger_for
from conformance.platform import LifecycleBudgetExceeded, Platform, describe
from conformance.service import ServiceHost, ServiceRuntime
from conformance.task import (
    Attempt,
    TaskSpec,
    as_literal_map_pb,
    as_template_pb,
    default_inputs,
    default_template,
)
from conformance.transcript import Transcript
from fake_backends.control import NotModelled


@dataclass
class Subject:
    """The connector under test and what its author declared about it."""

    name: str
    factory: Callable[[], Any]
    template: Any = None
    inputs: Any = None
    backend: Any = None
    metadata_strategies: dict[type, Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    """Variables set while connector code runs: the endpoint, TLS and credential redirection of a binding."""


class ConnectorConstructionError(Exception):
    """The factory could not build a connector: nothing else about it can be checked."""


T = TypeVar("T")


class ClauseRun:
    """One clause's run against one connector: what a clause body (``def clause(run: ClauseRun)``) uses.

    - ``connector``: the instance the service routes to (``fresh_connector()`` replaces it, as a restarted pod);
    - ``platform``: the propeller-like gRPC client, for lifecycles through the real connector service;
    - ``call`` / ``create_direct`` / ``encode`` / ``decode``: direct calls, where the wire would hide types;
    - ``call_blocking`` / ``call_on_loop``: any other connector code, in a worker thread or on the service loop;
    - ``require_backend()``: the bound fake backend, or a skip naming why the clause needs one;
    - ``spec``: the task template, inputs and attempts; ``config``: the suite's settings (read them);
      ``notes``: lines for the report that are no failure; ``guards``: what the harness guards saw.

    Each call is bounded by ``config.deadline`` and recorded in ``transcript``; a call that raises or hangs
    raises :class:`~conformance.errors.ConnectorCallError`, which the runner explains unless the clause
    handles it. ``runtime`` is the harness's own (the guard tour runs clauses on it), not for clause calls.
    """

    def __init__(self, subject: Subject, runtime: ServiceRuntime, config: ConformanceConfig, workdir: str,
                 guards: ActiveGuards | None = None):
        self.subject = subject
        self.runtime = runtime
        self.config = config
        self.guards = guards if guards is not None else ActiveGuards(runtime.loop_watch, config)
        self.transcript = Transcript()
        self.notes: list[str] = []
        self.backend: Any = subject.backend
        self._workdir = workdir
        self.connector: Any = self.fresh_connector()

    @cached_property
    def spec(self) -> TaskSpec:
        """The task every lifecycle of this run uses: the subject's template and inputs, or the defaults."""
        return TaskSpec(self._template(), self._inputs(), self._workdir)

    @cached_property
    def platform(self) -> Platform:
        """The platform's side of the wire: CreateTask, GetTask polling and DeleteTask through the service."""
        return Platform(self.runtime, self.spec, self.config, self.transcript)

    def fresh_connector(self) -> Any:
        """A new instance from the factory, now the one the service routes to (a restarted pod)."""
        try:
            with self.runtime.loop_watch.exempt():  # the platform constructs connectors at import, off the loop
                connector = self.runtime.run(_construct(self.subject.factory), self.config.deadline,
                                             "constructor")
        except ConnectorCallError as exc:
            cause = brief(exc.exc) if isinstance(exc, CallCrashed) else str(exc)
            raise ConnectorConstructionError(f"constructing {self.subject.name} failed: {cause}") from None
        with contextlib.suppress(Exception):
            # A broken task_category cannot be routed; lifecycles then get NOT_FOUND, as in production,
            # and STRUCT-TASK-CATEGORY names the cause.
            self.runtime.install(connector)
        self.guards.connector_built(connector)
        self.connector = connector
        return connector

    def _template(self) -> Any:
        if self.subject.template is not None:
            return as_template_pb(self.subject.template)
        try:
            category = self.connector.task_category
            return default_template(category.name, category.version)
        except Exception as exc:
            raise ClauseFailure(
                expected="a task_category to build the default task template from",
                observed=f"task_category is unusable: {brief(exc)}",
                consequence="No task can be routed to this connector (see STRUCT-TASK-CATEGORY).",
                fix="Fix task_category, or give a template with the connector_task_template fixture.",
            ) from None

    def _inputs(self) -> Any:
        return default_inputs() if self.subject.inputs is None else as_literal_map_pb(self.subject.inputs)

    def call(self, method: str, **kwargs: Any) -> Any:
        """Call a connector method in-process on the service loop, as the service would, with the deadline.

        Only for what the wire would hide (exact Python types); lifecycles go through ``platform``.
        """
        from flytekit.extend.backend.utils import mirror_async_methods

        func = getattr(self.connector, method)
        began = time.perf_counter()
        try:
            result = self.runtime.run(lambda: mirror_async_methods(func, **kwargs), self.config.deadline,
                                      f"{method}()")
        except ConnectorCallError as exc:
            self.transcript.record(f"{method}() [direct]", str(exc), began)
            raise
        self.transcript.record(f"{method}() [direct]", f"returned {type(result).__name__}", began)
        return result

    def call_blocking(self, func: Callable[[], T], what: str, *, timeout: float | None = None) -> T:
        """Synchronous connector code (``what`` names it) in a worker thread, as the service runs sync code.

        Bounded by the call deadline, or by ``timeout`` seconds for work of the suite's own size (decoding
        every stored meta, a fuzz search); a hang raises CallTimedOut instead of stalling the suite.
        """
        deadline = self.config.deadline if timeout is None else timeout
        result: T = self.runtime.run_blocking(func, deadline, what)
        return result

    def call_on_loop(self, make: Callable[[], Awaitable[T]], what: str) -> T:
        """Await ``make()`` on the service's event loop under the call deadline, where the service awaits it
        (e.g. ``Resource.to_flyte_idl``, which the service awaits after get() returns)."""
        result: T = self.runtime.run(make, self.config.deadline, what)
        return result

    def encode(self, meta: Any) -> Any:
        """``meta.encode()`` in a worker thread, under the call deadline, as any connector code."""
        return self.call_blocking(meta.encode, "encode()")

    def decode(self, data: bytes) -> Any:
        """``metadata_type.decode(data)`` in a worker thread, under the call deadline, as any connector code."""
        meta_type = self.connector.metadata_type
        return self.call_blocking(lambda: meta_type.decode(data), "decode()")

    def create_direct(self) -> tuple[Attempt, Any]:
        """create() in-process with the arguments the service passes; returns (attempt, meta object)."""
        from flytekit.models.literals import LiteralMap
        from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

        attempt = self.spec.new_attempt()
        meta = self.call(
            "create",
            task_template=TaskTemplate.from_flyte_idl(self.spec.template_for(attempt)),
            inputs=LiteralMap.from_flyte_idl(self.spec.inputs),
            output_prefix=attempt.output_prefix,
            task_execution_metadata=TaskExecutionMetadata.from_flyte_idl(attempt.execution),
        )
        return attempt, meta

    def require_backend(self, why: str) -> Any:
        """The bound fake backend; without one the clause is skipped, saying ``why`` it needs one."""
        if self.backend is None:
            raise ClauseSkip(f"no fake backend bound to {self.subject.name}: {why} "
                             "(bind one with the connector_backend fixture)")
        return self.backend


def _construct(factory: Callable[[], Any]) -> Callable:
    async def build() -> Any:
        connector = factory()
        return await connector if inspect.isawaitable(connector) else connector

    return build


class Outcome(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"
    BLOCKED = "BLOCKED"
    """Not run: a setup step it needs is broken; the cause is reported once, by another clause."""
    ERROR = "ERROR"
    """The suite itself failed: no verdict on the connector (a pytest ERROR, never its FAIL)."""
    CRASHED = "CRASHED"
    """The process running connector code died or stopped answering while this clause was in flight."""
    NOT_RUN = "NOT RUN"
    """Not started: the connector's time budget was spent, or its host process could not be restarted."""


@dataclass
class ClauseResult:
    """One clause's verdict on one connector, as every front end (pytest, check_connector, load) reads it."""

    clause: Clause
    outcome: Outcome
    message: str = ""
    """What a user reads: the rendered failure and transcript, a skip or block reason, a harness error."""
    notes: list[str] = field(default_factory=list)
    failure: ClauseFailure | None = None
    """The structured failure behind a FAIL that a clause (or a shared call or budget failure) explained:
    expected / observed / consequence / fix as fields, so a report reads them instead of parsing ``message``."""

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASS


def run_clause(clause: Clause, subject: Subject, runtime: ServiceRuntime,
               config: ConformanceConfig | None = None) -> ClauseResult:
    """Run one clause in its own ClauseRun, here (conformance.host calls it in the connector's process);
    every way connector code misbehaves short of ending the process becomes a result."""
    config = config or ConformanceConfig()
    with restored(*SHARED_MODULES) as replaced:
        result = _run_here(clause, subject, runtime, config)
    result.notes += [f"{name} was replaced by connector code; the suite put it back after the clause, as it "
                     "is shared by every connector (and by the suite) in the service process" for name in replaced]
    return result


SHARED_MODULES = (asyncio, grpc)
"""Modules the suite itself relies on in the process that runs connector code."""


@contextlib.contextmanager
def restored(*modules: Any) -> Iterator[list[str]]:
    """Put back what connector code replaced in ``modules`` (a test double for ``asyncio.sleep``), naming it.

    Left in place it would break the suite's own use of asyncio and gRPC, in every later clause.
    """
    saved = [(module, dict(vars(module))) for module in modules]
    replaced: list[str] = []
    try:
        yield replaced
    finally:
        for module, before in saved:
            for name, value in before.items():
                if vars(module).get(name) is not value:
                    replaced.append(f"{module.__name__}.{name}")
                    setattr(module, name, value)


def _run_here(clause: Clause, subject: Subject, runtime: ServiceRuntime, config: ConformanceConfig) -> ClauseResult:
    logged = runtime.log.mark(config.service_log)
    result = _judged(clause, subject, runtime, config)
    excerpt = runtime.log.excerpt(logged) if result.outcome is Outcome.FAIL else ""
    if excerpt:  # flytekit's own log of the failure: counted and named, never a wall of tracebacks
        result.message += f"\n{excerpt}"
    return result


def _judged(clause: Clause, subject: Subject, runtime: ServiceRuntime, config: ConformanceConfig) -> ClauseResult:
    # The binding's redirection is in os.environ only while this clause runs: connector code reads it there.
    with tempfile.TemporaryDirectory(prefix="conformance-") as workdir, \
            mock.patch.dict(os.environ, subject.environment), \
            ActiveGuards(runtime.loop_watch, config, clause.id,
                         ledger_for(runtime.loop_watch, subject.name)) as guards:
        try:
            run = ClauseRun(subject, runtime, config, workdir, guards)
        except ConnectorConstructionError as exc:
            return ClauseResult(clause, Outcome.FAIL, str(exc))
        try:
            clause.check(run)
        except ClauseSkip as exc:
            return ClauseResult(clause, Outcome.SKIP, str(exc))
        except NotModelled as exc:
            return ClauseResult(clause, Outcome.SKIP, f"the bound fake does not model this: {exc}")
        except ClauseFailure as exc:
            return _failed(clause, run, exc)
        except LifecycleBudgetExceeded as exc:
            return _failed(clause, run, budget_failure(exc))
        except ConnectorCallError as exc:
            return _failed(clause, run, call_failure(exc))
        except Exception as exc:  # the clauses handle connector errors; what is left is ours
            return ClauseResult(clause, Outcome.ERROR, harness_error(exc, run.transcript))
    return ClauseResult(clause, Outcome.PASS, notes=run.notes + guards.notes())


def harness_error(exc: BaseException, transcript: Transcript | None = None) -> str:
    """What a bug report to the suite's maintainers needs: the traceback, the transcript and versions."""
    import platform
    import sys
    import traceback
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    versions = ", ".join(f"{name} {installed(name)}" for name in (
        "flyte-connector-conformance", "flytekit", "hypothesis", "grpcio", "protobuf"))
    return (f"HARNESS ERROR: the conformance suite itself failed ({brief(exc)}); this says nothing about the "
            f"connector. Please report it to the suite's maintainers with this text.\n"
            f"versions: python {platform.python_version()} on {sys.platform}, {versions}\n"
            + "".join(traceback.format_exception(exc)).rstrip()
            + (f"\n{transcript.render()}" if transcript is not None else ""))


def _failed(clause: Clause, run: ClauseRun, failure: ClauseFailure) -> ClauseResult:
    return ClauseResult(clause, Outcome.FAIL, f"{failure.render()}\n{run.transcript.render()}", failure=failure)


CALL_FAILURES = {
    "timed out": Prose(
        consequence="The platform sees DEADLINE_EXCEEDED; a hung get() burns the error budget (F-GET-2) and a "
                    "blocked event loop stalls every connector in the process (F-WIRE-4).",
        fix="Bound every backend call with a timeout, and never block inside async def."),
    "ended the process": Prose(
        consequence="SystemExit/KeyboardInterrupt in connector code ends the connector service process: every task "
                    "of every connector on that pod errors until it restarts.",
        fix="Never call sys.exit() or raise BaseException subclasses in a connector; raise an Exception."),
    "raised": Prose(
        consequence="Exceptions become gRPC INTERNAL errors (F-WIRE-5); six failed GetTask calls fail the task for "
                    "good and leave the remote job running (F-GET-2).",
        fix="Handle the backend's answers explicitly; return a Resource with a phase and message instead of "
            "raising."),
}
"""The shared explanations of a call into the connector that did not answer, by how it went wrong."""


def call_failure(exc: ConnectorCallError) -> ClauseFailure:
    """The generic explanation for a call that raised or hung where the clause needed an answer."""
    crashed = isinstance(exc, CallCrashed) and not isinstance(exc.exc, Exception)
    if isinstance(exc, CallTimedOut):
        kind, expected = "timed out", f"{exc.what} answers within the {exc.deadline:g} s deadline (F-WIRE-3)"
    else:
        ended = crashed or isinstance(exc, RpcFailed) and exc.code == "CRASHED"
        kind, expected = "ended the process" if ended else "raised", f"{exc.what} returns normally"
    return ClauseFailure(expected=expected, observed=str(exc), kind=kind).explained(CALL_FAILURES[kind])


def budget_failure(exc: LifecycleBudgetExceeded) -> ClauseFailure:
    """A lifecycle over budget, in any clause: what PHASE-TERMINATES, the clause that checks it, declares."""
    last = exc.lifecycle.resources[-1] if exc.lifecycle.resources else None
    failure = ClauseFailure(
        expected="the lifecycle reaches SUCCEEDED, FAILED, ABORTED or RETRYABLE_FAILED within the budget",
        observed=f"{exc}; last answer: {describe(last) if last is not None else 'none'}",
    )
    return failure.explained(clause_by_id("PHASE-TERMINATES").prose())


@dataclass
class Report:
    subject: str
    results: list[ClauseResult]

    @property
    def passed(self) -> bool:
        return all(r.outcome not in (Outcome.FAIL, Outcome.ERROR, Outcome.CRASHED, Outcome.NOT_RUN)
                   for r in self.results)


class TimeBudget:
    """What the suite may still spend on one connector in this process (config.suite_budget), and where it went.

    A backstop: the probe makes a hang or a held event loop cost about one deadline, but a connector slow in
    ways no clause names (every call just under the deadline) would otherwise hold a CI job for hours. Clauses
    not started once it is spent are NOT RUN, which fails the run, naming the budget and the slowest clauses.
    """

    SHOWN = 3

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.spent = 0.0
        self._took: dict[str, float] = {}

    def run(self, clause: Clause, start: Callable[[], ClauseResult]) -> ClauseResult:
        """``start()``'s result, timed; NOT_RUN, without starting it, once the budget is spent."""
        if self.spent >= self.seconds:
            return ClauseResult(clause, Outcome.NOT_RUN, self._spent())
        began = time.monotonic()
        try:
            return start()
        finally:
            self._took[clause.id] = time.monotonic() - began
            self.spent += self._took[clause.id]

    def _spent(self) -> str:
        slowest = sorted(self._took.items(), key=lambda item: -item[1])[:self.SHOWN]
        return (f"not run: the suite spent its time budget for this connector ({self.spent:.0f} s, "
                f"--connector-suite-budget={self.seconds:g}); the slowest clauses: "
                + ", ".join(f"{clause_id} {took:.1f} s" for clause_id, took in slowest)
                + ". Their transcripts show the slow calls; fix those, or raise --connector-suite-budget.")


def check_connector(subject: Subject | type | str, config: ConformanceConfig | None = None,
                    clauses: Iterable[Clause] | None = None) -> Report:
    """Every clause against one connector, outside pytest, where ``config.isolation`` says (the connector's
    own process by default); a broken setup step is reported once. A connector class (or its spec) is
    bound, backed and built as ``pytest --connector`` does it (``bindings.subject_of``)."""
    if not isinstance(subject, Subject):
        from conformance.bindings import subject_of

        with subject_of(subject) as made:
            return check_connector(made, config, clauses)
    import conformance.host as connector_host
    from conformance.probe import Probe

    config = config or ConformanceConfig()
    connector_host.prestart(config)
    selected = list(clauses or all_clauses())
    probe = Probe(selected)
    budget = TimeBudget(config.suite_budget)
    host = ServiceHost()
    results: list[ClauseResult] = []
    try:
        for clause in selected:
            if subject.backend is not None:
                subject.backend.reset()  # fresh backend state per clause, as each pytest test gets
            results.append(budget.run(clause, functools.partial(connector_host.decide_or_run, clause, subject,
                                                                config, probe, host)))
    finally:
        host.close()
    return Report(subject.name, results)
