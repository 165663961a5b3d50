"""Fault clauses: steer the fake backend the connector talks to into what breaks connectors in production.

Written once against the ``BackendControl`` interface, so they apply to every fake that implements it.
Without a bound backend they are skipped with that reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flyteidl.core.execution_pb2 import TaskExecution

from conformance.clause import ClauseFailure, ClauseSkip, Level, Needs, Prose, clause
from conformance.errors import ConnectorCallError
from conformance.platform import ACCEPTED_PHASES, describe

if TYPE_CHECKING:
    from conformance.run import ClauseRun


def _ledger(backend) -> str:
    return ", ".join(f"{j.job_id}={j.state} (submits={j.submits}, cancels={j.cancels})" for j in backend.jobs()) \
        or "no jobs"


def _succeeds_despite(run: ClauseRun, fault: str, lifecycle=None) -> None:
    """Poll to the end; an RPC error or a failed phase caused by ``fault`` fails the clause."""
    try:
        lifecycle = run.platform.poll(lifecycle or run.platform.start())
    except ConnectorCallError as exc:
        observed = str(exc)
    else:
        if lifecycle.final.phase == TaskExecution.SUCCEEDED:
            return
        observed = f"the task ended {describe(lifecycle.final)}"
    raise ClauseFailure(expected=f"the task still succeeds despite {fault}", observed=observed)


@clause("BACKEND-GET-TRANSIENT", fact="F-GET-2", needs=Needs.LIFECYCLE, steers_backend=True,
        consequence="Each GetTask error costs the task's system-failure budget, which is never reset: six and the "
                    "task fails for good with the remote job left running (F-GET-2).",
        fix="Retry transient backend errors (429/5xx, connection resets) with a bound inside get(), or answer the "
            "last known non-terminal phase; never raise or report FAILED for them.")
def transient_status_errors(run: ClauseRun) -> None:
    """A transient error on the backend's status call neither fails the task nor errors GetTask (F-GET-2)."""
    backend = run.require_backend("the suite injects status errors on it")
    lifecycle = run.platform.start()
    backend.fault("status", status=503, times=2)
    _succeeds_despite(run, "two HTTP 503 answers from the backend's status endpoint", lifecycle)


@clause("BACKEND-INVISIBLE-AFTER-CREATE", fact="F-CREATE-1", needs=Needs.LIFECYCLE, steers_backend=True,
        consequence="The platform polls right after CreateTask; an eventually consistent backend answers 'not "
                    "found' and the connector fails a healthy task.",
        fix="Report 'not found' shortly after create as QUEUED (a grace period stored in the meta helps), not as "
            "FAILED or an exception.")
def invisible_after_create(run: ClauseRun) -> None:
    """A job the backend does not show for its first reads is not reported as a failure (F-CREATE-1)."""
    backend = run.require_backend("the suite delays the new job's visibility on it")
    backend.invisible_for(2)
    _succeeds_despite(run, "the new job answering 404 for its first two status reads (eventual consistency)")


@clause("BACKEND-CREATE-RETRY", fact="F-CREATE-2", needs=Needs.CREATE_TASK, steers_backend=True,
        consequence="A failed CreateTask round is retried for the same attempt; every extra job is an orphan nobody "
                    "polls or cancels, and it costs money.",
        fix="Derive an idempotency key (or the job name) from task_execution_metadata.task_execution_id including "
            "retry_attempt, and let the backend deduplicate.")
def create_retry_is_idempotent(run: ClauseRun) -> None:
    """CreateTask sent twice for the same attempt leaves exactly one live job (F-CREATE-2)."""
    backend = run.require_backend("the suite counts the jobs on it")
    attempt = run.spec.new_attempt()
    run.platform.create(attempt)
    run.platform.create(attempt)
    if len(backend.live_jobs()) == 1:
        return
    raise ClauseFailure(
        expected="one live job after CreateTask was retried for the same task attempt",
        observed=f"{len(backend.live_jobs())} live jobs: {_ledger(backend)}",
    )


@clause("BACKEND-RETRY-NEW-JOB", fact="F-CREATE-2", needs=Needs.CREATE_TASK, steers_backend=True,
        consequence="The retry attaches to the failed job of the previous attempt, so retries never run.",
        fix="Include task_execution_id.retry_attempt in the idempotency key.")
def user_retry_gets_new_job(run: ClauseRun) -> None:
    """A user-level retry (retry_attempt + 1, new output_prefix) starts a new job, not the old one (F-CREATE-2)."""
    backend = run.require_backend("the suite counts the jobs on it")
    first = run.spec.new_attempt()
    run.platform.create(first)
    run.platform.create(run.spec.new_attempt(retry_attempt=1, execution_name=first.execution_name))
    if len(backend.jobs()) == 2:
        return
    raise ClauseFailure(
        expected="two jobs: one for retry_attempt 0 and one for retry_attempt 1",
        observed=f"{len(backend.jobs())} job(s): {_ledger(backend)}",
    )


@clause("BACKEND-ABORT-REACHES", fact="F-DELETE-1", needs=Needs.LIFECYCLE, steers_backend=True,
        consequence="DeleteTask is the platform's only abort signal: the user's terminate succeeds but the job keeps "
                    "running and billing.",
        fix="Call the backend's cancel endpoint in delete().")
def abort_reaches_backend(run: ClauseRun) -> None:
    """After DeleteTask the job is cancelled (or already finished) on the backend (F-DELETE-1)."""
    from fake_backends import unstopped  # here, not at import: fake_backends loads aiohttp

    backend = run.require_backend("the suite inspects the job on it")
    lifecycle = run.platform.start()
    run.platform.delete(lifecycle.meta)
    running = unstopped(backend)
    if not running:
        return
    raise ClauseFailure(
        expected="the backend received a cancel for the job (or the job had already finished)",
        observed=f"still running without a cancel: {_ledger(backend)}",
    )


@clause("BACKEND-NO-ORPHANS", fact="F-DELETE-1", needs=Needs.LIFECYCLE, steers_backend=True,
        consequence="No DeleteTask follows a normal end (F-DELETE-1), and none reaches a job whose CreateTask answer "
                    "was lost (F-DELETE-3): any other job the connector started stays running, unseen by the "
                    "platform.",
        fix="Send an idempotency key (from the task execution id) with every submit, retries included, so a "
            "retried submit finds the job the lost one created.")
def no_orphans(run: ClauseRun) -> None:
    """A lifecycle leaves one job and nothing live, even when a submit's answer was lost (F-DELETE-1)."""
    backend = run.require_backend("the suite reads its ledger of jobs")
    backend.fault("submit", kind="lost")
    attempt = run.spec.new_attempt()
    try:
        run.platform.run(attempt)
    except ConnectorCallError:
        run.platform.run(attempt)  # the platform retries a failed CreateTask round for the same attempt
    if len(backend.jobs()) == 1 and not backend.live_jobs():
        return
    raise ClauseFailure(
        expected="one job, finished, after one lifecycle (the first submit reached the backend, but the "
                 "connection dropped before its answer arrived)",
        observed=_ledger(backend),
    )


UNKNOWN_STATE = "QUARANTINED"


def _unknown_state_answers(run: ClauseRun) -> list:
    """Three GetTask answers for a job the backend reports in a state no connector has seen."""
    backend = run.require_backend("the suite scripts an unknown state on it")
    backend.script([backend.states.running, UNKNOWN_STATE], message="held for review")
    lifecycle = run.platform.start()
    return [run.platform.get(lifecycle.meta, lifecycle.attempt) for _ in range(3)]


@clause("BACKEND-UNKNOWN-STATE-NO-ERROR", fact="F-GET-2", needs=Needs.LIFECYCLE, steers_backend=True,
        consequence="GetTask INTERNAL counts against the system-failure budget: six and the task fails for good, "
                    "its remote job left running (F-GET-2).",
        fix="Map unknown states to a safe phase (RUNNING to keep polling, or RETRYABLE_FAILED) instead of looking "
            "them up with a KeyError or answering no phase.",
        kinds={"get() answered an unaccepted phase": Prose(
            "An unknown phase is a system error on the platform (F-PHASE-1).")})
def unknown_state_no_error(run: ClauseRun) -> None:
    """A backend state the connector has never seen gives an accepted phase, not a GetTask error (F-GET-2)."""
    try:
        last = _unknown_state_answers(run)[-1]
    except ConnectorCallError as exc:
        observed, kind = str(exc), ""
    else:
        if last.phase in ACCEPTED_PHASES:
            return
        observed, kind = f"get() answered {describe(last)}", "get() answered an unaccepted phase"
    raise ClauseFailure(
        expected=f"an accepted phase while the backend reports the unknown state {UNKNOWN_STATE!r}",
        observed=observed,
        kind=kind,
    )


@clause("BACKEND-UNKNOWN-STATE", fact="F-PHASE-1", level=Level.SHOULD, needs=Needs.LIFECYCLE, steers_backend=True,
        consequence="The user cannot tell why the task is stuck or failed.",
        fix="Put the backend state's name in Resource.message when you map a state you do not know.")
def unknown_state(run: ClauseRun) -> None:
    """The accepted phase for a backend state the connector has never seen has a message naming it (F-PHASE-1)."""
    try:
        last = _unknown_state_answers(run)[-1]
    except ConnectorCallError as exc:
        raise ClauseSkip(f"get() fails on the unknown state ({exc}): BACKEND-UNKNOWN-STATE-NO-ERROR reports it") \
            from None
    if last.phase not in ACCEPTED_PHASES:
        raise ClauseSkip(f"get() answered {describe(last)}: BACKEND-UNKNOWN-STATE-NO-ERROR reports it")
    if UNKNOWN_STATE in last.message:
        return
    raise ClauseFailure(
        expected=f"a message that names the unknown state {UNKNOWN_STATE!r}",
        observed=f"get() answered {describe(last)}",
    )
