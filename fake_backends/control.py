"""The control plane every fake backend implements.

Fault clauses in the conformance suite are written once, against
:class:`BackendControl`, and then run against whichever fake stands behind a
connector: the generic job service here, or later fakes of real services.
That is why this module knows nothing about HTTP or about any one fake's
state names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .states import States

__all__ = ["OPERATIONS", "Job", "BackendControl", "NotModelled", "unstopped"]

#: The data-plane operations a fault, a latency or a counter can name.
OPERATIONS = ("submit", "status", "cancel", "list", "outputs")


@dataclass(frozen=True)
class Job:
    """An immutable snapshot of one job as the backend sees it.

    Snapshots let a test inspect the ledger without holding the backend's lock
    and without racing the server thread. ``terminal`` is a field, not derived
    here, because each fake has its own terminal state names. Treat the dicts
    as read-only: they are shared with the backend, not copied per snapshot.
    """

    job_id: str
    state: str
    message: str | None
    #: The job's outputs once it has SUCCEEDED; ``None`` before and otherwise.
    outputs: dict[str, Any] | None
    spec: dict[str, Any]
    inputs: dict[str, Any]
    idempotency_key: str | None
    #: How many submit calls mapped to this job (more than one means retries
    #: were deduplicated by the idempotency key).
    submits: int
    #: Status reads addressed to this job, including ones answered "not found".
    reads: int
    #: Cancel calls addressed to this job, including rejected ones.
    cancels: int
    terminal: bool


class NotModelled(Exception):
    """A control-plane request for behaviour the real service does not have.

    A fake of a real service raises it (e.g. from :meth:`BackendControl.invisible_for`
    when the service's API is read-after-write consistent), with the reason and the
    API reference, so a clause that needs the behaviour is skipped for that fake
    instead of testing the connector against a situation production never produces.
    """


@runtime_checkable
class BackendControl(Protocol):
    """Steer a fake backend into the situations that break connectors.

    All methods are synchronous and thread-safe so that test code can call them
    while a connector talks to the fake from another thread or event loop.
    """

    @property
    def url(self) -> str:
        """Base URL the connector should talk to; ``""`` for in-process fakes."""
        ...

    @property
    def states(self) -> States:
        """The service's own state names for each role a clause scripts (see :class:`States`)."""
        ...

    def script(
        self,
        states: Sequence[str],
        *,
        message: str | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> None:
        """Queue the state walk of the next submitted job.

        Scripts are consumed first in, first out, one per new job. The job
        moves one state per status read (no wall clock, so tests are
        deterministic) and the last state sticks, which makes "never finishes"
        and "state no connector knows" one call each. ``message`` is reported
        with the last state (e.g. a failure reason); ``outputs`` become the
        job's outputs if it ends SUCCEEDED.
        """
        ...

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
        """Make the next ``times`` calls of ``op`` fail, then let it recover.

        ``kind`` is "http" (an error response with ``status`` and, if given, a
        ``Retry-After`` header), "timeout" (no answer until the client gives
        up), "reset" (the connection is dropped) or "lost" (the operation takes
        effect, then the connection is dropped: a submit whose answer never
        arrives). ``times=-1`` fails
        forever. ``probability`` makes the fault fire at random, from the
        fake's seeded RNG so a failing run can be replayed. Faults armed for
        the same op fire in the order they were armed.
        """
        ...

    def invisible_for(self, reads: int) -> None:
        """Make jobs submitted from now on "not found" for their first ``reads`` status reads.

        This is the eventual consistency of real job stores, which makes naive
        connectors conclude that a job they just created is gone.
        """
        ...

    def purge(self, job_id: str | None = None) -> None:
        """Forget one job, or every finished job when ``job_id`` is None.

        Real services expire old jobs; later reads of a purged job are "not
        found" and its idempotency key may be reused.
        """
        ...

    def latency(self, op: str, seconds: float) -> None:
        """Delay every call of ``op`` by ``seconds`` (0 removes the delay)."""
        ...

    def counters(self) -> dict[str, int]:
        """Calls received per operation in :data:`OPERATIONS`, faulted ones included."""
        ...

    def jobs(self) -> list[Job]:
        """Every job the backend knows (not purged), in submission order."""
        ...

    def live_jobs(self) -> list[Job]:
        """Jobs not in a terminal state: after a test, these are the orphans."""
        ...

    def reset(self) -> None:
        """Return to a clean state: no jobs, faults, scripts or latency; counters zero."""
        ...


def unstopped(backend: BackendControl) -> list[Job]:
    """Live jobs nobody asked to stop: once the platform is done with a task, these are orphans.

    A cancelled job stays CANCELLING until its next status read, and after an abort nothing reads it
    again (F-DELETE-1), so a cancel request counts as stopping it.
    """
    return [job for job in backend.live_jobs() if job.cancels == 0]
