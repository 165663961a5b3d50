"""Phases: what get() answers over a lifecycle driven through the connector service (F-PHASE-*, F-GET-*)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flyteidl.core import literals_pb2
from flyteidl.core.execution_pb2 import TaskExecution

from conformance.clause import ClauseFailure, ClauseSkip, Needs, Prose, clause
from conformance.errors import brief
from conformance.platform import ACCEPTED_PHASES, TERMINAL_PHASES, describe, phase_name
from conformance.task import output_mismatches

if TYPE_CHECKING:
    from conformance.run import ClauseRun

FAILURE_PHASES = frozenset({TaskExecution.FAILED, TaskExecution.RETRYABLE_FAILED})


@clause("PHASE-ACCEPTED", fact="F-PHASE-1", needs=Needs.LIFECYCLE,
        consequence="An unknown phase number is a system error on the platform (F-PHASE-1).",
        fix="Always set Resource(phase=TaskExecution.<PHASE>); map every backend state to a phase.",
        kinds={"get() answered UNDEFINED": Prose(
            "UNDEFINED (an empty Resource()) makes the platform read the deprecated state field, whose zero value is "
            "a retryable failure: the attempt silently fails (F-PHASE-2).")})
def accepted_phases(run: ClauseRun) -> None:
    """Every phase get() answers is one the platform accepts, never UNDEFINED (F-PHASE-1, F-PHASE-2)."""
    lifecycle = run.platform.run()
    bad = [r for r in lifecycle.resources if r.phase not in ACCEPTED_PHASES]
    if not bad:
        return
    undefined = any(r.phase == TaskExecution.UNDEFINED for r in bad)
    raise ClauseFailure(
        expected="phases from " + ", ".join(sorted(phase_name(p) for p in ACCEPTED_PHASES)),
        observed=f"get() answered {describe(bad[0])}",
        kind="get() answered UNDEFINED" if undefined else "",
    )


@clause("PHASE-TERMINATES", fact="F-GET-1", needs=Needs.LIFECYCLE,
        consequence="The task never finishes on the platform; it runs until its timeout and is aborted.",
        fix="Map every backend end state to a terminal phase; raise --connector-budget if the job is slow.")
def terminates(run: ClauseRun) -> None:
    """A lifecycle reaches a terminal phase within the budget, so polling stops (F-GET-1)."""
    # LifecycleBudgetExceeded is turned into this clause's failure by the runner (run.budget_failure), in any
    # clause whose lifecycle runs over: the consequence and fix declared here are what it means there too.
    run.platform.run()


@clause("PHASE-SYNC-GET", fact="F-CREATE-1", needs=Needs.LIFECYCLE,
        consequence="The platform polls once immediately after CreateTask; an eventually consistent backend may "
                    "not know the job yet, and reporting that as a failure fails a healthy task.",
        fix="Treat 'job not found' shortly after create as QUEUED/INITIALIZING, not as FAILED.")
def sync_get_not_failed(run: ClauseRun) -> None:
    """The GetTask sent right after CreateTask is not a terminal failure (F-CREATE-1)."""
    first = run.platform.start().final
    if first.phase not in (FAILURE_PHASES | {TaskExecution.ABORTED}):
        return
    raise ClauseFailure(
        expected="the first get() after create() answers a non-failed phase (QUEUED, RUNNING, ... or SUCCEEDED)",
        observed=f"first get() answered {describe(first)}",
    )


def _outputs_of(resource, attempt) -> literals_pb2.LiteralMap:
    """Outputs as the platform reads them: Resource.outputs, else outputs.pb under output_prefix (F-PHASE-5)."""
    if resource.HasField("outputs"):
        return resource.outputs
    found = literals_pb2.LiteralMap()
    if os.path.exists(attempt.outputs_file):
        with open(attempt.outputs_file, "rb") as handle:
            found.ParseFromString(handle.read())
    return found


def _succeeded(run: ClauseRun):
    lifecycle = run.platform.run()
    if lifecycle.final.phase == TaskExecution.SUCCEEDED:
        return lifecycle
    raise ClauseFailure(
        expected="the lifecycle of the configured task ends SUCCEEDED, so its outputs can be checked",
        observed=f"it ended {describe(lifecycle.final)}",
        kind="the lifecycle did not succeed",
    )


@clause("PHASE-OUTPUTS", fact="F-PHASE-5", needs=Needs.LIFECYCLE,
        consequence="On SUCCEEDED the platform looks for the declared outputs and fails the attempt with "
                    "OutputsNotFound.",
        fix="Return Resource(phase=SUCCEEDED, outputs={...}) or write outputs.pb under output_prefix.",
        kinds={
            "an output has another type": Prose(
                "The platform stores the outputs as they are and the task SUCCEEDS; the downstream task or the "
                "user reading the result then fails converting the value, far from its cause.",
                "Convert backend results to the declared Python types before returning them in Resource.outputs "
                "(e.g. int(row['y'])), or declare the type you return."),
            "the lifecycle did not succeed": Prose(
                "Nothing about a successful run can be verified (outputs, re-polling after success).",
                "If the default task cannot succeed on your connector, provide a real one with the "
                "connector_task_template and connector_inputs fixtures."),
        })
def outputs_present(run: ClauseRun) -> None:
    """SUCCEEDED carries every declared output, of its declared type, in Resource.outputs or outputs.pb (F-PHASE-5)."""
    lifecycle = _succeeded(run)
    declared = run.spec.declared_outputs
    outputs = _outputs_of(lifecycle.final, lifecycle.attempt)
    present = set(outputs.literals)
    missing = [name for name in declared if name not in present]
    if not missing:
        _outputs_typed(run, outputs)
        return
    raise ClauseFailure(
        expected=f"outputs {declared} in Resource.outputs or in {lifecycle.attempt.outputs_file}",
        observed=f"missing {missing}; found {sorted(present) or 'no outputs'}",
    )


def _outputs_typed(run: ClauseRun, outputs: literals_pb2.LiteralMap) -> None:
    """Every output converts to the interface's type: the next task (or the user's FlyteRemote) converts it."""
    mismatches = output_mismatches(run.spec.template, outputs)
    if mismatches:
        raise ClauseFailure(
            expected="each output converts to the type the task interface declares for it",
            observed="\n".join(mismatches),
            kind="an output has another type",
        )


@clause("PHASE-TERMINAL-STABLE", fact="F-PHASE-4", needs=Needs.LIFECYCLE,
        consequence="After a platform restart the same meta is polled again and outputs are not persisted "
                    "(F-GET-3): a changed phase or missing outputs fails a finished task.",
        fix="Derive the answer from the backend's durable job record, not from in-memory state.")
def terminal_stable(run: ClauseRun) -> None:
    """A terminal phase and its outputs stay the same on re-polls and from a fresh instance (F-PHASE-4, F-GET-3)."""
    lifecycle = run.platform.run()
    final = lifecycle.final
    expected = (final.phase, _outputs_of(final, lifecycle.attempt))
    later = [run.platform.get(lifecycle.meta, lifecycle.attempt) for _ in range(2)]
    run.fresh_connector()
    later.append(run.platform.get(lifecycle.meta, lifecycle.attempt))
    for index, resource in enumerate(later):
        if (resource.phase, _outputs_of(resource, lifecycle.attempt)) != expected:
            who = "a fresh connector instance" if index == len(later) - 1 else f"re-poll #{index + 1}"
            raise ClauseFailure(
                expected=f"every later get() answers {describe(final)} again",
                observed=f"{who} answered {describe(resource)}",
            )


@clause("PHASE-FAILURE-MESSAGE", fact="F-PHASE-3", needs=Needs.LIFECYCLE,
        consequence="The user sees a failed task with no reason, and support has nothing to go on.",
        fix="Copy the backend's error into Resource(message=...).")
def failure_message(run: ClauseRun) -> None:
    """FAILED and RETRYABLE_FAILED carry a message: it is what the user sees (F-PHASE-3)."""
    if run.backend is not None:
        states = run.backend.states
        run.backend.script([states.running, states.failed], message="conformance: scripted failure")
    final = run.platform.run().final
    if final.phase not in FAILURE_PHASES:
        raise ClauseSkip(f"the lifecycle ended {phase_name(final.phase)}, not in a failure; bind a fake "
                         "backend (connector_backend) so the suite can script one")
    if final.message.strip():
        return
    raise ClauseFailure(
        expected=f"{phase_name(final.phase)} with a non-empty message",
        observed=f"get() answered {describe(final)} with no message",
    )


@clause("PHASE-RESOURCE-SERIALIZES", fact="F-WIRE-6", needs=Needs.LIFECYCLE,
        consequence="The service serializes the Resource after get() returns: a field that does not convert fails "
                    "GetTask with INTERNAL, counting against the error budget (F-GET-2); log links that are not "
                    "TaskLog pass the wire only by protobuf's dict coercion and break flytekit's local executor, "
                    "which reads link.name.",
        fix="Build log links with flyteidl.core.execution_pb2.TaskLog(uri=..., name=...) and keep custom_info to "
            "str/int/float/bool/None/list/dict.")
def resource_serializes(run: ClauseRun) -> None:
    """Every Resource converts to protobuf: custom_info JSON-compatible, log_links TaskLog (F-WIRE-6)."""
    lifecycle = run.platform.start()
    meta = run.decode(lifecycle.meta)
    for _ in range(run.config.max_polls):
        resource = run.call("get", resource_meta=meta)
        problem = _serialization_problem(run, resource)
        if problem:
            raise ClauseFailure(
                expected="a Resource whose fields serialize: log_links a list of flyteidl TaskLog, "
                         "custom_info a dict of JSON values, outputs a LiteralMap or dict of Python values",
                observed=problem,
            )
        if resource.phase in TERMINAL_PHASES:
            return


def _serialization_problem(run: ClauseRun, resource) -> str:
    from flyteidl.core.execution_pb2 import TaskLog

    wrong = [link for link in (getattr(resource, "log_links", None) or []) if not isinstance(link, TaskLog)]
    if wrong:
        return f"log_links holds {type(wrong[0]).__name__} {wrong[0]!r:.80}, not TaskLog"
    try:
        run.call_on_loop(resource.to_flyte_idl, "Resource.to_flyte_idl()")
    except Exception as exc:
        cause = getattr(exc, "exc", exc)
        return f"Resource.to_flyte_idl() raised {brief(cause)} for {resource!r:.200}"
    return ""
