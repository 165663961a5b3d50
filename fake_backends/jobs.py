"""An in-process, programmable job service: the state machine behind the HTTP fake.

Jobs move one scripted state per status read rather than by wall clock, so a
test decides exactly what a connector sees on each poll and never sleeps. The
service is usable directly in unit tests; :mod:`fake_backends.server` puts it
behind real HTTP.
"""

from __future__ import annotations

import copy
import functools
import itertools
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from .control import OPERATIONS, Job
from .faults import Fault, FaultPlan
from .states import GENERIC, States

__all__ = [
    "SUBMITTED",
    "CANCELLING",
    "TERMINAL_STATES",
    "JobService",
    "JobServiceError",
    "JobNotFound",
    "JobConflict",
    "InvalidRequest",
    "InjectedFault",
]

#: The generic vocabulary's names, kept as module constants for callers of the generic service.
SUBMITTED = GENERIC.submitted
CANCELLING = GENERIC.cancelling
TERMINAL_STATES = GENERIC.terminal


class JobServiceError(Exception):
    """Base of the errors a data operation reports to its caller."""


class JobNotFound(JobServiceError):
    """The job is unknown, purged or not yet visible (HTTP 404)."""


class JobConflict(JobServiceError):
    """The job exists but cannot do that in its current state (HTTP 409)."""


class InvalidRequest(JobServiceError):
    """The request itself is malformed (HTTP 400)."""


class InjectedFault(JobServiceError):
    """A fault armed through the control plane fired on this call.

    In-process callers see this exception for every fault kind; the HTTP
    server turns it into the error response, hang or dropped connection that
    ``fault.kind`` asks for.
    """

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"injected {fault.kind} fault on {fault.op}")
        self.fault = fault


@dataclass(frozen=True)
class _Script:
    """The states one job walks through, truncated after the first terminal one.

    Truncating means "the last state sticks" and "a terminal state is final"
    are the same rule, so the message and the outputs only ever belong to the
    last state.
    """

    states: tuple[str, ...]
    message: str | None
    outputs: dict[str, Any]

    @classmethod
    def of(
        cls, states: Sequence[str], message: str | None, outputs: dict[str, Any], terminal: frozenset[str]
    ) -> _Script:
        """Validate and truncate ``states``; copy ``outputs`` so the caller may reuse its dict."""
        if not states or not all(isinstance(state, str) and state for state in states):
            raise ValueError(f"a script needs at least one non-empty state name, got {states!r}")
        last = next((i for i, state in enumerate(states) if state in terminal), len(states) - 1)
        return cls(tuple(states[: last + 1]), message, copy.deepcopy(outputs))


@dataclass
class _Record:
    """The mutable bookkeeping behind one job's snapshot."""

    job: Job
    script: _Script
    #: How many script states the job has shown so far.
    step: int = 0
    #: Status reads left that must answer "not found".
    hidden_reads: int = 0


def _in_state(
    job: Job, state: str, terminal: frozenset[str], message: str | None = None, outputs: dict[str, Any] | None = None
) -> Job:
    """``job`` moved to ``state``: the one place ``terminal`` is derived."""
    return replace(job, state=state, message=message, outputs=outputs, terminal=state in terminal)


_Op = TypeVar("_Op", bound=Callable[..., Any])


def _operation(op: str) -> Callable[[_Op], _Op]:
    """Make a method a data operation: locked, counted, and subject to faults.

    Counting comes before the fault so that faulted calls show up in
    :meth:`JobService.counters`, as retries should.
    """

    def decorate(method: _Op) -> _Op:
        @functools.wraps(method)
        def guarded(self: JobService, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._counters[op] += 1
                fault = self._faults.take(op)
                if fault is None:
                    return method(self, *args, **kwargs)
                if fault.kind == "lost":  # the effect happens; only the answer is lost
                    method(self, *args, **kwargs)
                raise InjectedFault(fault)

        return cast(_Op, guarded)

    return decorate


class JobService:
    """A thread-safe fake async job API implementing :class:`BackendControl`.

    Without a script, a job walks pending, running, succeeded (in the
    vocabulary ``states``, :data:`GENERIC` by default) with
    ``default_outputs``. ``seed`` drives probabilistic faults. Job ids are
    never reused, not even across :meth:`reset`, so a stale id held by a
    connector is "not found" instead of silently naming another job.
    """

    def __init__(
        self, *, default_outputs: dict[str, Any] | None = None, seed: int = 0, states: States = GENERIC
    ) -> None:
        self.states = states
        self._default_script = _Script.of(states.default_walk, None, default_outputs or {}, states.terminal)
        self._seed = seed
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._clear()

    def _clear(self) -> None:
        """Drop every job, script, fault and latency; zero the counters."""
        self._records: dict[str, _Record] = {}
        self._by_key: dict[str, str] = {}
        self._scripts: deque[_Script] = deque()
        self._faults = FaultPlan(self._seed)
        self._latency: dict[str, float] = {}
        self._hidden_reads = 0
        self._counters = dict.fromkeys(OPERATIONS, 0)

    # -- control plane ------------------------------------------------------

    @property
    def url(self) -> str:
        """In-process: there is nothing to connect to."""
        return ""

    def script(
        self,
        states: Sequence[str],
        *,
        message: str | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> None:
        """See :meth:`BackendControl.script`; ``outputs=None`` means ``default_outputs``."""
        outputs = self._default_script.outputs if outputs is None else outputs
        scripted = _Script.of(states, message, outputs, self.states.terminal)
        with self._lock:
            self._scripts.append(scripted)

    def fault(
        self,
        op: str,
        *,
        status: int = 503,
        times: int = 1,
        retry_after: float | None = None,
        kind: str = "http",
        probability: float = 1.0,
    ) -> None:
        """See :meth:`BackendControl.fault`."""
        armed = Fault(op, kind=kind, status=status, times=times, retry_after=retry_after, probability=probability)
        with self._lock:
            self._faults.arm(armed)

    def invisible_for(self, reads: int) -> None:
        """See :meth:`BackendControl.invisible_for`; only status reads are hidden."""
        if reads < 0:
            raise ValueError(f"reads must be >= 0, not {reads}")
        with self._lock:
            self._hidden_reads = reads

    def purge(self, job_id: str | None = None) -> None:
        """See :meth:`BackendControl.purge`; purging an unknown id raises :class:`JobNotFound`."""
        with self._lock:
            if job_id is None:
                doomed = [record.job for record in self._records.values() if record.job.terminal]
            else:
                doomed = [self._record(job_id).job]
            for job in doomed:
                del self._records[job.job_id]
                if job.idempotency_key is not None:
                    del self._by_key[job.idempotency_key]

    def latency(self, op: str, seconds: float) -> None:
        """See :meth:`BackendControl.latency`; only the HTTP server waits, in-process calls do not."""
        if op not in OPERATIONS or seconds < 0:
            raise ValueError(f"latency needs an op in {OPERATIONS} and seconds >= 0, got {op!r}, {seconds}")
        with self._lock:
            self._latency[op] = seconds

    def latency_for(self, op: str) -> float:
        """The delay the transport should add to a call of ``op``."""
        with self._lock:
            return self._latency.get(op, 0.0)

    def counters(self) -> dict[str, int]:
        """Calls per operation, faulted ones included."""
        with self._lock:
            return dict(self._counters)

    def jobs(self) -> list[Job]:
        """The ledger: every job not purged, in submission order."""
        with self._lock:
            return self._snapshot()

    def live_jobs(self) -> list[Job]:
        """Jobs not yet in a terminal state: the orphans, once a test is over."""
        with self._lock:
            return [job for job in self._snapshot() if not job.terminal]

    def reset(self) -> None:
        """Forget everything but the job id sequence (see the class docstring)."""
        with self._lock:
            self._clear()

    # -- data plane ---------------------------------------------------------

    @_operation("submit")
    def submit(self, spec: dict[str, Any], inputs: dict[str, Any], idempotency_key: str | None = None) -> Job:
        """Create a job in state SUBMITTED, or return the job already created with this key.

        A repeated key neither creates a job nor consumes a script: it is a
        retry of the same request, and only ``submits`` records it.
        """
        if not isinstance(spec, dict) or not isinstance(inputs, dict):
            raise InvalidRequest("spec and inputs must be JSON objects")
        if idempotency_key is not None and not isinstance(idempotency_key, str):
            raise InvalidRequest("idempotency_key must be a string or null")
        if idempotency_key in self._by_key:
            record = self._records[self._by_key[idempotency_key]]
            record.job = replace(record.job, submits=record.job.submits + 1)
            return record.job
        return self._create(copy.deepcopy(spec), copy.deepcopy(inputs), idempotency_key)

    @_operation("status")
    def status(self, job_id: str) -> Job:
        """Advance the job one step (see :meth:`BackendControl.script`) and return it.

        A CANCELLING job becomes CANCELLED; a terminal job stays as it is.
        """
        record = self._record(job_id)
        record.job = replace(record.job, reads=record.job.reads + 1)
        if record.hidden_reads:
            record.hidden_reads -= 1
            raise JobNotFound(f"job {job_id} not found (not visible yet)")
        if record.job.state == self.states.cancelling:
            record.job = _in_state(record.job, self.states.cancelled, self.states.terminal)
        elif not record.job.terminal:
            self._step(record)
        return record.job

    @_operation("cancel")
    def cancel(self, job_id: str) -> Job:
        """Ask a live job to stop: it is CANCELLING until the next status read.

        Cancelling a finished job is a conflict, as in real services; every
        attempt counts in ``cancels``, rejected ones too.
        """
        record = self._record(job_id)
        record.job = replace(record.job, cancels=record.job.cancels + 1)
        if record.job.terminal:
            raise JobConflict(f"job {job_id} already finished ({record.job.state})")
        record.job = _in_state(record.job, self.states.cancelling, self.states.terminal)
        return record.job

    @_operation("list")
    def list_jobs(self) -> list[Job]:
        """Every known job, in submission order, without advancing any."""
        return self._snapshot()

    @_operation("outputs")
    def outputs(self, job_id: str) -> dict[str, Any]:
        """The outputs of a SUCCEEDED job; any other state is a conflict."""
        job = self._record(job_id).job
        if job.state != self.states.succeeded or job.outputs is None:
            raise JobConflict(f"job {job_id} has no outputs in state {job.state}")
        return job.outputs

    # -- internals (callers hold the lock) ----------------------------------

    def _create(self, spec: dict[str, Any], inputs: dict[str, Any], idempotency_key: str | None) -> Job:
        job = Job(
            job_id=f"job-{next(self._ids)}",
            state=self.states.submitted,
            message=None,
            outputs=None,
            spec=spec,
            inputs=inputs,
            idempotency_key=idempotency_key,
            submits=1,
            reads=0,
            cancels=0,
            terminal=False,
        )
        script = self._scripts.popleft() if self._scripts else self._default_script
        self._records[job.job_id] = _Record(job, script, hidden_reads=self._hidden_reads)
        if idempotency_key is not None:
            self._by_key[idempotency_key] = job.job_id
        return job

    def _step(self, record: _Record) -> None:
        """Show the next scripted state; the message and outputs belong to the last one."""
        states = record.script.states
        record.step = min(record.step + 1, len(states))
        state = states[record.step - 1]
        last = record.step == len(states)
        record.job = _in_state(
            record.job,
            state,
            self.states.terminal,
            message=record.script.message if last else None,
            outputs=record.script.outputs if state == self.states.succeeded else None,
        )

    def _record(self, job_id: str) -> _Record:
        try:
            return self._records[job_id]
        except KeyError:
            raise JobNotFound(f"job {job_id} not found") from None

    def _snapshot(self) -> list[Job]:
        return [record.job for record in self._records.values()]
