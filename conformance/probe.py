"""The setup every clause builds on, tried once per connector: one cause, one report.

When the default task template does not suit a connector, create() raises in every clause, and
eighteen clauses would each fail with a consequence that does not apply to that cause. So before
clauses run, a probe tries the steps they need (:class:`~conformance.clause.Needs`): build the
connector, call create() on the configured task, get a meta with encode(), send CreateTask through
the service, and drive one lifecycle to a terminal phase. The first step that breaks is the cause.
It is reported once, with its fix, by one clause chosen the same way in every process (the clause
whose own check it is, else the first selected clause that needs the step); every other clause that
needs the step is BLOCKED naming it. Clauses that need less run as usual.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from unittest import mock

from conformance.clause import Clause, ClauseFailure, Level, Needs
from conformance.config import ConformanceConfig
from conformance.errors import CallCrashed, CallTimedOut, ConnectorCallError, RpcFailed, user_frame
from conformance.guards.active import ActiveGuards
from conformance.guards.evidence import ledger_for
from conformance.platform import LifecycleBudgetExceeded
from conformance.run import (
    SHARED_MODULES,
    ClauseResult,
    ClauseRun,
    ConnectorConstructionError,
    Outcome,
    Subject,
    budget_failure,
    call_failure,
    restored,
)
from conformance.service import ServiceRuntime

HELD_LOOP = 0.25
"""The share of the call deadline one call may hold the event loop before the probe stops: at a quarter,
four polls queued behind it miss the deadline. A correct connector holds it for milliseconds; the
LOOP-BLOCKING clause judges anything over --connector-loop-stall, this only bounds the suite's time."""
DEFAULT_TASK = "the suite's default template (x: int -> y: int, no custom config)"
TEMPLATE_EXAMPLE = '''
    # conftest.py
    import pytest
    from conformance.task import default_template

    @pytest.fixture
    def connector_task_template():
        template = default_template("{task_type}", {version})  # x: int -> y: int, for your task type
        template.custom.update({{...}})  # the config your tasks carry{missing}
        return template

    @pytest.fixture
    def connector_inputs():
        return {{"x": 7}}  # the inputs that template declares
'''


@dataclass(frozen=True)
class SetupFailure:
    """The first step of the probe that broke."""

    step: Needs
    cause: str
    """One line, as blocked clauses name it."""
    detail: str
    """The whole report: expected / observed / consequence / fix, and the probe's transcript."""
    owner: str | None = None
    """The clause whose own check is exactly this failure: it runs and reports it itself."""
    settled: bool = False
    """The owner reports the probe's observation instead of running again: a hang or a held event loop would
    cost another deadline, or more, for the same verdict."""


class Probe:
    """One connector's setup verdict, tried lazily up to the most any clause asked for, and kept."""

    def __init__(self, selected: Iterable[Clause]):
        from conformance.clause import all_clauses

        position = {c.id: index for index, c in enumerate(all_clauses())}
        self._selected = sorted(selected, key=lambda c: position.get(c.id, len(position)))
        self._checked = Needs.CONNECTOR - 1
        self._failure: SetupFailure | None = None
        self.on_step: Callable[[Needs], None] = _unannounced
        """Called as each step starts: the connector host tells its parent which one is in flight."""

    def state(self) -> tuple[int, SetupFailure | None]:
        """What the probe has learned, so a probe in another process (conformance.host) carries on from it."""
        return self._checked, self._failure

    def restore(self, state: tuple[int, SetupFailure | None]) -> None:
        self._checked, self._failure = state

    def decide(self, clause: Clause, subject: Subject, runtime: Callable[[], ServiceRuntime],
               config: ConformanceConfig) -> ClauseResult | None:
        """The result of a clause the setup decides (the cause, reported once, or BLOCKED); None: run it.

        ``runtime`` is called for a healthy runtime each time one is needed: the probe may break one.
        """
        failure = self._failure_for(clause.needs, subject, runtime, config)
        if failure is not None and failure.settled and clause.id == failure.owner:
            return ClauseResult(clause, Outcome.FAIL, failure.detail)
        if failure is None or (clause.needs < failure.step and not _drives(clause, failure)) \
                or clause.id == failure.owner \
                or _skips_anyway(clause, subject, failure):
            return None
        reporter = self._reporter(failure, subject) or clause.id  # never a cause nobody reports
        if clause.id == reporter:
            return ClauseResult(clause, Outcome.FAIL, failure.detail)
        return ClauseResult(clause, Outcome.BLOCKED, f"blocked: {failure.cause} (reported once, under {reporter})")

    def _failure_for(self, needs: Needs, subject: Subject, runtime: Callable[[], ServiceRuntime],
                     config: ConformanceConfig) -> SetupFailure | None:
        if self._failure is None and needs > self._checked:
            try:
                self._failure = probe(subject, runtime(), config, needs, self.on_step)
            except Exception:  # a bug of the suite's: each clause then meets it and reports a harness ERROR
                self._failure = None
            self._checked = needs
        return self._failure

    def _reporter(self, failure: SetupFailure, subject: Subject) -> str:
        """The owner if selected, else the first selected clause that needs the step (a MUST one first)."""
        ids = [c.id for c in self._selected]
        if failure.owner in ids:
            return failure.owner
        dependent = [c for c in self._selected if c.needs >= failure.step and not _skips_anyway(c, subject, failure)]
        dependent.sort(key=lambda c: c.level is not Level.MUST)  # stable: catalogue order within a level
        return dependent[0].id if dependent else ""


def _unannounced(step: Needs) -> None:
    """A probe in the process that runs it tells nobody its steps."""


DRIVES = {"HYGIENE": Needs.LIFECYCLE, "META-NO-PICKLE": Needs.CREATE}
"""Guard clauses that declare less than they drive: they need only a connector, since they judge what a
failing call leaves behind, yet call these steps themselves; after a settled failure each such call
would hang or hold the loop again, so they are BLOCKED with the rest."""


def _drives(clause: Clause, failure: SetupFailure) -> bool:
    return failure.settled and DRIVES.get(clause.id, Needs.CONNECTOR) >= failure.step


def _skips_anyway(clause: Clause, subject: Subject, failure: SetupFailure) -> bool:
    """A clause that steers a fake backend skips without one, naming it, once the connector is built."""
    return clause.steers_backend and subject.backend is None and failure.step > Needs.CONNECTOR


def probe(subject: Subject, runtime: ServiceRuntime, config: ConformanceConfig, up_to: Needs,
          on_step: Callable[[Needs], None] = _unannounced) -> SetupFailure | None:
    """Try the steps up to ``up_to`` in order, in a run of their own; the first failure, or None."""
    ledger = ledger_for(runtime.loop_watch, subject.name)  # what the guards see here counts, as in any clause
    with tempfile.TemporaryDirectory(prefix="conformance-probe-") as workdir, restored(*SHARED_MODULES), \
            mock.patch.dict(os.environ, subject.environment), \
            ActiveGuards(runtime.loop_watch, config, "the setup probe", ledger) as guards:
        try:
            run = ClauseRun(subject, runtime, config, workdir, guards)
        except ConnectorConstructionError as exc:
            return SetupFailure(Needs.CONNECTOR, str(exc), str(exc))
        try:
            failure = _Steps(run, on_step).until(up_to)
        finally:
            if subject.backend is not None:
                subject.backend.reset()  # the clause that asked gets the backend as it was
    cut_tour(ledger, failure)
    return failure


def cut_tour(ledger: Any, failure: SetupFailure | None) -> None:
    """After a settled failure the guard tour would drive the broken step once per clause: the guards judge
    what they saw so far (also in a new connector host that inherits the failure, conformance.host)."""
    if failure is not None and failure.settled and not ledger.toured:
        ledger.toured = True
        ledger.tour_cut = f"judged on part of the suite only: the setup probe found {failure.cause}"


class _Steps:
    """The probe's steps on one ClauseRun, each returning the failure it found or None."""

    def __init__(self, run: ClauseRun, on_step: Callable[[Needs], None]):
        self.run = run
        self.on_step = on_step
        self.logged = run.runtime.log.mark(run.config.service_log)
        self.meta: Any = None
        self.steps: dict[Needs, Callable[[], SetupFailure | None]] = {
            Needs.CREATE: self.create, Needs.META: self.has_encode, Needs.CREATE_TASK: self.create_task,
            Needs.LIFECYCLE: self.lifecycle,
        }

    def until(self, up_to: Needs) -> SetupFailure | None:
        for step in sorted(self.steps):
            if step > up_to:
                break
            self.on_step(step)
            failure = self.steps[step]()
            if failure is not None:
                return failure
        return None

    def create(self) -> SetupFailure | None:
        try:
            _, self.meta = self.run.create_direct()
        except ClauseFailure as exc:  # task_category cannot even name a template
            return self._failed(Needs.CREATE, exc.observed, exc, owner="STRUCT-TASK-CATEGORY")
        except ConnectorCallError as exc:
            if isinstance(exc, CallCrashed) and isinstance(exc.exc, Exception):  # not a timeout or sys.exit
                failure = self._create_failure(exc)
            else:
                failure = call_failure(exc)
            return self._failed(Needs.CREATE, f"{_located(exc)} on {self._task()}", failure,
                                settled=isinstance(exc, CallTimedOut))
        return None

    def has_encode(self) -> SetupFailure | None:
        if callable(getattr(self.meta, "encode", None)):
            return None
        cause = f"create() returned {type(self.meta).__name__} {self.meta!r:.80}, which has no encode()"
        return self._failed(Needs.META, cause, ClauseFailure(
            expected="create() returns a metadata_type instance",
            observed=cause,
            consequence="The service calls encode() on what create() returns: every CreateTask fails with "
                        "INTERNAL, so no task of this type can start.",
            fix="Return metadata_type(...) from create().",
        ), owner="META-CREATE-TYPE")

    def create_task(self) -> SetupFailure | None:
        try:
            self.run.platform.create()
        except ConnectorCallError as exc:
            return self._failed(Needs.CREATE_TASK, str(exc), call_failure(exc), owner=self._create_task_owner(exc),
                                settled=isinstance(exc, CallTimedOut))
        return None

    def lifecycle(self) -> SetupFailure | None:
        """One lifecycle; stopped after the first GetTask when a call already held the event loop too long."""
        platform = self.run.platform
        try:
            started = platform.start()
            if self._held_loop() is None:
                platform.poll(started)
        except LifecycleBudgetExceeded as exc:
            return self._held_loop() or self._failed(Needs.LIFECYCLE, str(exc), budget_failure(exc),
                                                     owner="PHASE-TERMINATES", settled=True)
        except ConnectorCallError as exc:
            timed_out = isinstance(exc, CallTimedOut)
            return self._held_loop(str(exc)) or self._failed(Needs.LIFECYCLE, str(exc), call_failure(exc),
                                                     owner="PHASE-TERMINATES" if timed_out else None,
                                                     settled=timed_out or self._costly())
        return self._held_loop()

    def _costly(self) -> bool:
        """A call of the probe's took HELD_LOOP of the deadline or more: a failure that costs every clause as
        much again (a 20 MB exception message took 10 s per GetTask on its way through flytekit and gRPC)."""
        limit = HELD_LOOP * self.run.config.deadline
        return any(entry.took >= limit for entry in self.run.transcript.entries)

    def _held_loop(self, then: str = "") -> SetupFailure | None:
        """A call that held the service's event loop for HELD_LOOP of the call deadline.

        Every clause would wait that long again, per call, and a real pod's other RPCs with it: reported once
        under LOOP-BLOCKING, the dependents BLOCKED. Measured as the time connector code held the loop, not
        waiting for a CPU, so a saturated machine never makes a correct connector look blocking.
        """
        limit = HELD_LOOP * self.run.config.deadline
        stalls = [stall for stall in self.run.guards.stalls if stall.held >= limit]
        if not stalls:
            return None
        worst = max(stalls, key=lambda stall: stall.held)
        cause = f"{worst} (held it {worst.held:.1f} s; the probe's limit is {limit:g} s)"
        cause += f"; {then}" if then else ""
        return self._failed(Needs.LIFECYCLE, cause, ClauseFailure(
            expected=f"no call holds the service's event loop for {limit:g} s ({HELD_LOOP:g} of the "
                     f"{self.run.config.deadline:g} s call deadline, F-WIRE-3) or more",
            observed=cause,
            consequence="The connector service runs every connector's async methods on one event loop: while it "
                        "is held, every RPC of every connector on the pod waits, and a few queued calls miss their "
                        "deadline (F-WIRE-4). Here every clause would wait as long, per call.",
            fix="Inside async def, await non-blocking I/O (aiohttp, the SDK's async client) and asyncio.sleep; move "
                "blocking or CPU-heavy work off the loop with asyncio.to_thread or loop.run_in_executor.",
        ), owner="LOOP-BLOCKING", settled=True)

    def _create_task_owner(self, exc: ConnectorCallError) -> str | None:
        """The META- clause that names why CreateTask failed although create() itself returned."""
        if isinstance(exc, RpcFailed) and exc.code == "RESOURCE_EXHAUSTED":
            return "META-SIZE"
        meta_type = self.run.connector.metadata_type
        if isinstance(meta_type, type) and not isinstance(self.meta, meta_type):
            return "META-CREATE-TYPE"
        try:
            encoded = self.run.encode(self.meta)
        except ConnectorCallError:
            return "META-ENCODE-BYTES"
        return None if isinstance(encoded, bytes) else "META-ENCODE-BYTES"

    def _task(self) -> str:
        return DEFAULT_TASK if self.run.subject.template is None else "the template connector_task_template gives"

    def _create_failure(self, exc: CallCrashed) -> ClauseFailure:
        """create() raised: on the default template, most likely the template is what does not suit."""
        if self.run.subject.template is None:
            category = self.run.connector.task_category
            missing = f', e.g. "{exc.exc.args[0]}"' if isinstance(exc.exc, KeyError) and exc.exc.args else ""
            fix = ("If the connector needs its real task config, give the suite a template it accepts: override "
                   "the `connector_task_template` and `connector_inputs` fixtures in conftest.py (or return your "
                   "task's own serialized template), for example:"
                   + TEMPLATE_EXAMPLE.format(task_type=category.name, version=category.version, missing=missing)
                   + "If it could not reach its backend, bind it to a fake (connector_factory, connector_backend). "
                     "Otherwise, create() should not raise for a task its task type allows.")
        else:
            fix = "Fix create() for this task, or the template and inputs the fixtures give if they are wrong."
        return ClauseFailure(
            expected=f"create() returns a meta for the task it is given: {self._task()}",
            observed=_located(exc),
            consequence="Nothing that needs a created job can be checked on this task: those clauses are BLOCKED, "
                        "naming this cause. On the platform, CreateTask fails with INTERNAL for such a task.",
            fix=fix,
        )

    def _failed(self, step: Needs, cause: str, failure: ClauseFailure, owner: str | None = None,
                settled: bool = False) -> SetupFailure:
        header = f"setup failed, reported here once for every clause that needs it: {cause}"
        logged = self.run.runtime.log.excerpt(self.logged)
        detail = f"{header}\n{failure.render()}\n{self.run.transcript.render()}" + (f"\n{logged}" if logged else "")
        return SetupFailure(step, cause, detail, owner, settled)


def _located(exc: ConnectorCallError) -> str:
    """The error, with the connector line that raised it when there is one."""
    if not isinstance(exc, CallCrashed):
        return str(exc)
    where = user_frame("".join(traceback.format_exception(exc.exc)))
    return f"{exc} (at {where})" if where else str(exc)
