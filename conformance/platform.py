"""A client that drives the connector service the way FlytePropeller's webapi plugin does.

Call order (F-CREATE-1: a GetTask right after CreateTask), polling until a terminal phase (F-GET-1),
DeleteTask only on abort paths (F-DELETE-1), a deadline on every call (F-WIRE-3) and a budget on the
whole lifecycle, so a hanging connector fails a clause instead of hanging the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
from flyteidl.admin import agent_pb2
from flyteidl.core.execution_pb2 import TaskExecution
from flyteidl.service.agent_pb2_grpc import AsyncAgentServiceStub

from conformance.config import ConformanceConfig
from conformance.errors import CallTimedOut, RpcFailed, last_line
from conformance.service import ServiceRuntime
from conformance.task import Attempt, TaskSpec
from conformance.transcript import Transcript

TERMINAL_PHASES = frozenset(
    {TaskExecution.SUCCEEDED, TaskExecution.FAILED, TaskExecution.ABORTED, TaskExecution.RETRYABLE_FAILED}
)
ACCEPTED_PHASES = frozenset(
    {TaskExecution.QUEUED, TaskExecution.WAITING_FOR_RESOURCES, TaskExecution.INITIALIZING,
     TaskExecution.RUNNING} | TERMINAL_PHASES
)


def phase_name(phase: int) -> str:
    try:
        return TaskExecution.Phase.Name(phase)
    except ValueError:
        return f"<unknown phase {phase}>"


def describe(resource: agent_pb2.Resource) -> str:
    text = phase_name(resource.phase)
    if resource.message:
        text += f" {resource.message[:80]!r}"
    if resource.HasField("outputs"):
        text += f" outputs={sorted(resource.outputs.literals)}"
    return text


@dataclass
class Lifecycle:
    """One attempt from CreateTask to its last GetTask."""

    attempt: Attempt
    meta: bytes
    resources: list[agent_pb2.Resource] = field(default_factory=list)

    @property
    def final(self) -> agent_pb2.Resource:
        return self.resources[-1]

    @property
    def ended(self) -> bool:
        """Terminal, or a phase the platform cannot read, which also ends the attempt (F-PHASE-1, F-PHASE-2)."""
        return bool(self.resources) and (self.final.phase in TERMINAL_PHASES or self.final.phase not in ACCEPTED_PHASES)


class LifecycleBudgetExceeded(Exception):
    def __init__(self, lifecycle: Lifecycle, why: str):
        self.lifecycle = lifecycle
        super().__init__(why)


class Platform:
    def __init__(self, runtime: ServiceRuntime, spec: TaskSpec, config: ConformanceConfig, transcript: Transcript):
        self._runtime = runtime
        self._stub = AsyncAgentServiceStub(runtime.channel)
        self.spec = spec
        self._config = config
        self.transcript = transcript

    def create(self, attempt: Attempt | None = None) -> tuple:
        """CreateTask for ``attempt`` (a new execution by default); returns (attempt, resource meta)."""
        attempt = attempt or self.spec.new_attempt()
        request = agent_pb2.CreateTaskRequest(
            template=self.spec.template_for(attempt), inputs=self.spec.inputs,
            output_prefix=attempt.output_prefix, task_execution_metadata=attempt.execution,
        )
        response = self._call("CreateTask", request, lambda r: f"meta {len(r.resource_meta)} bytes")
        return attempt, response.resource_meta

    def get(self, meta: bytes, attempt: Attempt) -> agent_pb2.Resource:
        request = agent_pb2.GetTaskRequest(
            task_type=self.spec.template.type, resource_meta=meta,
            task_category=self.spec.category, output_prefix=attempt.output_prefix,
        )
        return self._call("GetTask", request, lambda r: describe(r.resource)).resource

    def delete(self, meta: bytes) -> None:
        request = agent_pb2.DeleteTaskRequest(
            task_type=self.spec.template.type, resource_meta=meta, task_category=self.spec.category,
        )
        self._call("DeleteTask", request, lambda r: "OK")

    def delete_concurrently(self, meta: bytes, count: int) -> list[RpcFailed | None]:
        """Several propeller workers racing to abort the same task (F-DELETE-2)."""
        def one(_: int) -> RpcFailed | None:
            try:
                self.delete(meta)
            except RpcFailed as exc:
                return exc
            return None

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(one, range(count)))

    def start(self, attempt: Attempt | None = None) -> Lifecycle:
        """CreateTask and the sync-on-create GetTask that follows it (F-CREATE-1)."""
        attempt, meta = self.create(attempt)
        lifecycle = Lifecycle(attempt, meta)
        lifecycle.resources.append(self.get(meta, attempt))
        return lifecycle

    def poll(self, lifecycle: Lifecycle) -> Lifecycle:
        """GetTask until a terminal phase, within the poll count and time budget."""
        began = time.perf_counter()
        polls = 0
        while not lifecycle.ended:
            if polls >= self._config.max_polls:
                raise LifecycleBudgetExceeded(lifecycle, f"no terminal phase after {polls} GetTask calls")
            if time.perf_counter() - began > self._config.budget:
                raise LifecycleBudgetExceeded(
                    lifecycle, f"no terminal phase within {self._config.budget:g} s")
            time.sleep(self._config.poll_interval)
            lifecycle.resources.append(self.get(lifecycle.meta, lifecycle.attempt))
            polls += 1
        return lifecycle

    def run(self, attempt: Attempt | None = None) -> Lifecycle:
        """A whole attempt: create, sync get, poll to a terminal phase."""
        return self.poll(self.start(attempt))

    # Any: the response's message type follows ``method``, the stub's RPC looked up by name.
    def _call(self, method: str, request, summarize: Callable) -> Any:
        """One unary RPC with the per-call deadline; a loop killed by connector code ends it at once.

        A blocking call, not ``.future()``: on a sync channel every future starts a gRPC thread. The
        runtime closes the channel when the loop dies, which cancels the call in flight.
        """
        began = time.perf_counter()
        deadline = self._config.deadline
        if self._runtime.crashed.is_set():
            raise self._crashed(method, began)
        try:
            response = getattr(self._stub, method)(request, timeout=deadline)
        except ValueError:  # the channel was closed under us
            if self._runtime.crashed.is_set():
                raise self._crashed(method, began) from None
            raise
        except grpc.RpcError as exc:
            if self._runtime.crashed.is_set():
                raise self._crashed(method, began) from None
            code = exc.code().name if exc.code() else "UNKNOWN"
            self.transcript.record(method, f"{code}: {last_line(exc.details() or '')[:120]}", began)
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise CallTimedOut(method, deadline) from None
            raise RpcFailed(method, code, exc.details() or "") from None
        self.transcript.record(method, summarize(response), began)
        return response

    def _crashed(self, method: str, began: float) -> RpcFailed:
        crash = self._runtime.crashes[-1]
        self.transcript.record(method, f"service loop died: {crash}", began)
        return RpcFailed(method, "CRASHED", f"connector code ended the service's event loop: {crash}")
