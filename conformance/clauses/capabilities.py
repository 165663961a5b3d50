"""Optional capabilities: get_logs and get_metrics, checked only when the connector overrides them.

They are called in-process: flytekit's service answers GetTaskLogs (a streaming RPC) with an empty
stream whatever the connector returns, so the wire would hide a wrong answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.clause import ClauseFailure, ClauseSkip, Needs, Prose, clause

if TYPE_CHECKING:
    from conformance.run import ClauseRun


def _declared(run: ClauseRun, method: str) -> None:
    from flytekit.extend.backend.base_connector import AsyncConnectorBase

    if getattr(type(run.connector), method) is getattr(AsyncConnectorBase, method):
        raise ClauseSkip(f"{type(run.connector).__name__} does not override {method}(): capability not declared")


def _answers(run: ClauseRun, method: str, response_type: type) -> None:
    """Call ``method`` for a running job and again once it finished; both answers must be ``response_type``."""
    _declared(run, method)
    lifecycle = run.platform.start()
    meta = run.decode(lifecycle.meta)
    answers = [("a running job", run.call(method, resource_meta=meta))]
    run.platform.poll(lifecycle)
    answers.append(("a finished job", run.call(method, resource_meta=meta)))
    for when, answer in answers:
        if not isinstance(answer, response_type):
            raise ClauseFailure(
                expected=f"{method}() returns flyteidl {response_type.__name__} for running and finished jobs",
                observed=f"for {when} it returned {type(answer).__name__}: {answer!r:.120}",
            )


def _answer_prose(response: str) -> Prose:
    """What a CAP- clause declares: the service sends whatever the method returns as ``response``."""
    return Prose(consequence=f"The connector service sends the return value as the {response}; anything else "
                             "fails the RPC and the UI shows no logs or metrics.",
                 fix=f"Build and return a flyteidl.admin.agent_pb2.{response}.")


@clause("CAP-LOGS", fact="API", needs=Needs.LIFECYCLE, prose=_answer_prose("GetTaskLogsResponse"))
def logs(run: ClauseRun) -> None:
    """An overridden get_logs() answers GetTaskLogsResponse for running and finished jobs (API)."""
    from flyteidl.admin.agent_pb2 import GetTaskLogsResponse

    _answers(run, "get_logs", GetTaskLogsResponse)


@clause("CAP-METRICS", fact="API", needs=Needs.LIFECYCLE, prose=_answer_prose("GetTaskMetricsResponse"))
def metrics(run: ClauseRun) -> None:
    """An overridden get_metrics() answers GetTaskMetricsResponse for running and finished jobs (API)."""
    from flyteidl.admin.agent_pb2 import GetTaskMetricsResponse

    _answers(run, "get_metrics", GetTaskMetricsResponse)
