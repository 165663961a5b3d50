"""Deletion: DeleteTask arrives late, twice, concurrently, and for jobs already gone (F-DELETE-*).

Each clause reaches one situation the platform produces and requires that delete() does not fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from conformance.clause import ClauseFailure, Needs, Prose, clause
from conformance.errors import ConnectorCallError
from conformance.platform import describe

if TYPE_CHECKING:
    from conformance.run import ClauseRun

DELETE_FAILED = Prose(
    consequence="Failed deletes are retried every round without backoff (~10 times), then the abort is given up: "
                "the user's terminate hangs and ends in an error, although nothing was left to cancel (F-DELETE-2).",
    fix="Treat 'not found', 'already finished' and 'already cancelling' answers from the backend as a successful "
        "delete; only raise when the job may still be running.",
)
"""What every deletion clause declares: a delete that fails where nothing is left to cancel."""


def _must_succeed(situation: str, delete: Callable[[], None]) -> None:
    try:
        delete()
    except ConnectorCallError as exc:
        raise ClauseFailure(expected=f"delete() succeeds {situation}", observed=str(exc)) from None


@clause("DELETE-TWICE", fact="F-DELETE-2", needs=Needs.LIFECYCLE, prose=DELETE_FAILED)
def delete_twice(run: ClauseRun) -> None:
    """A second DeleteTask for the same meta succeeds, e.g. while the first is still cancelling (F-DELETE-2)."""
    lifecycle = run.platform.start()
    _must_succeed("the first time", lambda: run.platform.delete(lifecycle.meta))
    _must_succeed("a second time for the same meta", lambda: run.platform.delete(lifecycle.meta))


@clause("DELETE-AFTER-CREATE", fact="F-DELETE-1", needs=Needs.CREATE_TASK, prose=DELETE_FAILED)
def delete_after_create(run: ClauseRun) -> None:
    """DeleteTask straight after CreateTask (an abort racing the first poll) succeeds (F-DELETE-1)."""
    _, meta = run.platform.create()
    _must_succeed("right after create(), before any get()", lambda: run.platform.delete(meta))


@clause("DELETE-AFTER-SUCCESS", fact="F-DELETE-2", needs=Needs.LIFECYCLE, prose=DELETE_FAILED)
def delete_after_success(run: ClauseRun) -> None:
    """DeleteTask for a job that already SUCCEEDED succeeds (F-DELETE-2)."""
    lifecycle = run.platform.run()
    _must_succeed(f"after the job ended {describe(lifecycle.final)}", lambda: run.platform.delete(lifecycle.meta))


@clause("DELETE-AFTER-FAILURE", fact="F-DELETE-2", needs=Needs.LIFECYCLE, steers_backend=True, prose=DELETE_FAILED)
def delete_after_failure(run: ClauseRun) -> None:
    """DeleteTask for a job that already FAILED succeeds (F-DELETE-2)."""
    backend = run.require_backend("the suite scripts a failing job on it")
    backend.script([backend.states.running, backend.states.failed], message="conformance: scripted failure")
    lifecycle = run.platform.run()
    _must_succeed(f"after the job ended {describe(lifecycle.final)}", lambda: run.platform.delete(lifecycle.meta))


@clause("DELETE-PURGED", fact="F-DELETE-2", needs=Needs.LIFECYCLE, steers_backend=True, prose=DELETE_FAILED)
def delete_purged(run: ClauseRun) -> None:
    """DeleteTask for a job the backend has purged (unknown to it now) succeeds (F-DELETE-2)."""
    backend = run.require_backend("the suite purges the finished job from it")
    lifecycle = run.platform.run()
    backend.purge()
    _must_succeed("for a finished job the backend has since purged",
                  lambda: run.platform.delete(lifecycle.meta))


@clause("DELETE-CONCURRENT", fact="F-DELETE-2", needs=Needs.LIFECYCLE, prose=DELETE_FAILED)
def delete_concurrently(run: ClauseRun) -> None:
    """Several DeleteTask calls racing for the same meta all succeed: propeller workers race (F-DELETE-2)."""
    lifecycle = run.platform.start()
    failures = [f for f in run.platform.delete_concurrently(lifecycle.meta, count=4) if f is not None]
    if failures:
        raise ClauseFailure(
            expected="4 concurrent delete() calls for one meta all succeed",
            observed=f"{len(failures)} failed, e.g. {failures[0]}",
        )
