"""The platform behaviours the clauses protect, as data: every clause cites one of these IDs.

A clause's failure says what the platform will do with the bug; the fact is where that claim comes
from. ``clause(..., fact=...)`` refuses an ID that is not here, so a clause cannot cite a fact the
project does not document, and ``python -m conformance.facts`` renders ``docs/platform-facts.md``
(a test keeps the two in sync).

Facts describe Flyte 1.16's FlytePropeller webapi connector plugin and flytekit's connector gRPC
service (``pyflyte serve connector``), checked against their sources, listed with each fact.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    id: str
    topic: str
    statement: str
    sources: tuple[str, ...]


_PROPELLER = "flyteorg/flyte: flyteplugins/go/tasks/plugins/webapi/connector/plugin.go"
_CORE = "flyteorg/flyte: flyteplugins/go/tasks/pluginmachinery/internal/webapi (core.go, cache.go, monitor.go)"
_SERVICE = "flytekit: flytekit/extend/backend/connector_service.py"
_BASE = "flytekit: flytekit/extend/backend/base_connector.py"

FACTS: dict[str, Fact] = {fact.id: fact for fact in (
    Fact("F-CREATE-1", "lifecycle",
         "Once a resource-quota token is granted the platform sends CreateTask, and as soon as it returns it "
         "sends one GetTask for the new resource. An eventually consistent backend may not show the job yet; "
         "the connector must not turn that into a terminal failure.",
         (_CORE, "flyteorg/flyte issue 5237")),
    Fact("F-CREATE-2", "lifecycle",
         "A failed CreateTask fails the attempt as retryable, and the same attempt can be created again after a "
         "failed round: a connector that is not idempotent on the task execution id starts a second, orphaned "
         "job. A user-level retry comes with retry_attempt + 1 and a new output_prefix, and must start a new job.",
         (_CORE, "flyteorg/flyteplugins issue 392")),
    Fact("F-CREATE-3", "lifecycle",
         "Before CreateTask the platform writes the task's inputs to inputs.pb and renders the templates in its "
         "container args for this attempt ({{.input}}, {{.outputPrefix}}, {{.rawOutputDataPrefix}}, "
         "{{.checkpointOutputPrefix}}, {{.prevCheckpointPrefix}}, {{.perRetryUniqueKey}}, {{.Inputs.<name>}}, "
         "any case). A container-style job learns where to read inputs and write outputs.pb only from them.",
         (_PROPELLER, "flyteorg/flyte: flyteplugins/go/tasks/pluginmachinery/core/template/template.go")),
    Fact("F-GET-1", "lifecycle",
         "GetTask is sent by background cache workers, every 30 s per task by default, until the phase is "
         "terminal (SUCCEEDED, FAILED, ABORTED, RETRYABLE_FAILED); RETRYABLE_FAILED ends the attempt and starts "
         "another if retries are left. A connector that never answers a terminal phase keeps the task running "
         "until its timeout.",
         (_CORE,)),
    Fact("F-GET-2", "lifecycle",
         "Six consecutive GetTask errors (a system-failure budget of five) fail the task for good, and no "
         "DeleteTask follows, so the remote job keeps running. The counter is never reset: every transient "
         "error a connector lets escape from get() spends budget for the task's whole life.",
         (_CORE, "flyteorg/flyte issue 5566")),
    Fact("F-GET-3", "lifecycle",
         "The platform does not persist outputs: after a propeller restart the same resource meta is polled "
         "again, and a finished job must still answer SUCCEEDED with the same outputs.",
         (_CORE,)),
    Fact("F-DELETE-1", "lifecycle",
         "DeleteTask is sent only on abort: a user's terminate, a workflow's auto-abort, timeouts and deadlines. "
         "It never follows a normal success or failure, so a job the connector does not stop on abort is left "
         "running.",
         (_PROPELLER, "flyteorg/flyte issue 6269")),
    Fact("F-DELETE-2", "lifecycle",
         "DeleteTask may come after the job finished, after the backend purged it, and more than once for the "
         "same meta: a failed delete is retried every round without backoff (about ten times, then once more), "
         "and several propeller workers can race. It must succeed when the job is gone, done or cancelling.",
         (_PROPELLER, "flyteorg/flyte issue 6269")),
    Fact("F-DELETE-3", "lifecycle",
         "A task whose CreateTask never returned a meta gets no DeleteTask at all.",
         (_CORE,)),
    Fact("F-PHASE-1", "phases",
         "The accepted phases are QUEUED, WAITING_FOR_RESOURCES, INITIALIZING, RUNNING, SUCCEEDED, FAILED, "
         "ABORTED and RETRYABLE_FAILED (value 8, Flyte >= 1.16); any other non-zero value is a system error.",
         (_PROPELLER, "flyteorg/flyte issues 6465, 6486")),
    Fact("F-PHASE-2", "phases",
         "UNDEFINED (0) makes the platform read a deprecated state field whose zero value means a retryable "
         "failure: an empty Resource() quietly becomes a failed attempt.",
         (_PROPELLER,)),
    Fact("F-PHASE-3", "phases",
         "FAILED and RETRYABLE_FAILED should carry a message: it is what the user sees. RUNNING messages are "
         "dropped, and a change of message, log links or custom info within one phase is not sent on.",
         (_PROPELLER,)),
    Fact("F-PHASE-4", "phases",
         "A phase may move backwards (RUNNING to QUEUED) but a terminal phase must be stable: later gets of the "
         "same meta answer the same terminal phase.",
         (_CORE,)),
    Fact("F-PHASE-5", "phases",
         "On SUCCEEDED the platform takes outputs from Resource.outputs, else from outputs.pb under the "
         "output_prefix (an error.pb there wins). A task that declares outputs and returns none fails with "
         "OutputsNotFound.",
         (_PROPELLER,)),
    Fact("F-WIRE-1", "wire",
         "The resource meta travels as the bytes of ResourceMeta.encode() and comes back through "
         "metadata_type.decode(), possibly in another process, on another connector version, after an upgrade "
         "or a rollback (extra or missing fields). It is stored in the workflow's custom resource in etcd "
         "(about 1.5 MiB for the whole workflow), so it must stay small.",
         (_BASE, _SERVICE)),
    Fact("F-WIRE-2", "wire",
         "Anyone who can read the workflow object can read the stored meta: it must hold no secret (tokens, "
         "passwords), and decoding it must run no code (no pickle).",
         (_BASE, "flyteorg/flytekit issue 2297")),
    Fact("F-WIRE-3", "wire",
         "Each connector call has a deadline, 10 s by default (3 s for the older agent plugin); gRPC's default "
         "largest message is 4 MiB.",
         (_PROPELLER,)),
    Fact("F-WIRE-4", "wire",
         "The connector service runs every connector's async methods on one event loop (sync methods on a pool "
         "of worker threads). A blocking call inside async def stalls every RPC of every connector in that "
         "process, and their callers see DEADLINE_EXCEEDED.",
         (_SERVICE, "flytekit: flytekit/clis/sdk_in_container/serve.py")),
    Fact("F-WIRE-5", "wire",
         "An exception escaping create, get or delete becomes a gRPC INTERNAL error; from get() it spends the "
         "system-failure budget (F-GET-2).",
         (_SERVICE,)),
    Fact("F-WIRE-6", "wire",
         "Resource.custom_info is sent as a protobuf Struct (JSON values only) and log_links as TaskLog "
         "messages; anything else fails the RPC while the answer is serialized.",
         (_BASE,)),
    Fact("API", "api",
         "flytekit's connector API itself: the registry routes by task_category, the service calls the "
         "documented methods with keyword arguments and answers with its response types.",
         (_BASE, _SERVICE)),
    Fact("HARNESS", "harness",
         "A protection of the suite itself: a test run must never reach a real cloud account or leak the "
         "user's credentials.",
         ("this project",)),
)}


def markdown() -> str:
    """``docs/platform-facts.md``: every fact with its sources."""
    lines = ["# Platform facts", "",
             "What the Flyte platform does with a connector, as the clauses rely on it. Every clause cites one "
             "of these IDs; a failure's consequence text is this fact applied to what the connector did. "
             "Generated from `conformance/facts.py` (`python -m conformance.facts`).", ""]
    for fact in FACTS.values():
        lines += [f"## {fact.id} ({fact.topic})", "", fact.statement, "",
                  "Sources: " + "; ".join(fact.sources) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
