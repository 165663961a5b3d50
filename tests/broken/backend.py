"""Connectors that break a fault clause: the reference connector mishandling one thing its backend does."""

from __future__ import annotations

import time
from typing import Any, Dict, Optional, Tuple

import aiohttp
from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.extend.backend.base_connector import Resource
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

from conformance.reference import PHASES, JobMeta, JobServiceClient, ReferenceConnector, idempotency_key, plain_inputs

from .phases import Tweaked


def transient(status: int) -> bool:
    return status == 429 or status >= 500


class RaisingClient(JobServiceClient):
    """One attempt per call, and an error status raises (raise_for_status style): nothing is retried."""

    async def call(self, method: str, path: str, body: Optional[dict] = None) -> Tuple[int, Dict[str, Any]]:
        status, payload, _ = await self._once(method, path, body)
        if transient(status):
            raise RuntimeError(f"{method} {path}: HTTP {status}: {payload.get('error')}")
        return status, payload


class RaisesOnTransientErrors(ReferenceConnector):
    """BACKEND-GET-TRANSIENT: calls the job service without retries, so get() raises on an HTTP 503."""

    breaks = "BACKEND-GET-TRANSIENT"
    evidence = ("GetTask failed with INTERNAL", "HTTP 503")

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self.client = RaisingClient(self.client.base_url)


class NotFoundIsFailed(ReferenceConnector):
    """BACKEND-INVISIBLE-AFTER-CREATE: reports a job the backend answers 404 for as FAILED, even right after create."""

    breaks = "BACKEND-INVISIBLE-AFTER-CREATE"
    evidence = ("the task ended FAILED 'job job-1 not found'",)

    def _missing(self, meta: JobMeta) -> Resource:
        return Resource(phase=TaskExecution.FAILED, message=f"job {meta.job_id} not found")


class Keyed(ReferenceConnector):
    """create() sends the idempotency key that key() derives from the task execution metadata."""

    def key(self, metadata: Optional[TaskExecutionMetadata]) -> Optional[str]:
        return idempotency_key(metadata)

    async def create(self, task_template: TaskTemplate, output_prefix: str, inputs: Optional[LiteralMap] = None,
                     task_execution_metadata: Optional[TaskExecutionMetadata] = None, **kwargs: Any) -> JobMeta:
        body = {"spec": {"task_type": task_template.type, "custom": task_template.custom or {}},
                "inputs": plain_inputs(inputs), "idempotency_key": self.key(task_execution_metadata)}
        status, payload = await self.client.call("POST", "/jobs", body)
        if status != 200:
            raise RuntimeError(f"job service rejected the job: HTTP {status}: {payload.get('error')}")
        return JobMeta(job_id=payload["job_id"], submitted_at=time.time())


class NoIdempotencyKey(Keyed):
    """BACKEND-CREATE-RETRY: submits without an idempotency key, so a retried CreateTask starts a second job."""

    breaks = "BACKEND-CREATE-RETRY"
    # Without any key, the submit retried after a lost answer duplicates the job too: same root cause.
    cascade = frozenset({"BACKEND-NO-ORPHANS"})
    evidence = ("2 live jobs: job-1=SUBMITTED (submits=1, cancels=0), job-2=SUBMITTED (submits=1, cancels=0)",)

    def key(self, metadata: Optional[TaskExecutionMetadata]) -> Optional[str]:
        return None


class KeyIgnoresRetryAttempt(Keyed):
    """BACKEND-RETRY-NEW-JOB: its idempotency key leaves out retry_attempt, so a user retry reuses the old job."""

    breaks = "BACKEND-RETRY-NEW-JOB"
    evidence = ("1 job(s): job-1=SUBMITTED (submits=2, cancels=0)",)

    def key(self, metadata: Optional[TaskExecutionMetadata]) -> Optional[str]:
        key = idempotency_key(metadata)
        return key and key.rsplit("/", 1)[0]  # the reference key ends with "/<retry_attempt>"


class DeleteNeverCancels(ReferenceConnector):
    """BACKEND-ABORT-REACHES: delete() only forgets the job locally and never calls the backend's cancel."""

    breaks = "BACKEND-ABORT-REACHES"
    evidence = ("still running without a cancel: job-1=PENDING (submits=1, cancels=0)",)

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        return None


class KeylessRetryClient(JobServiceClient):
    """The first try carries the idempotency key; retries after a transient error rebuild the body without it."""

    async def call(self, method: str, path: str, body: Optional[dict] = None) -> Tuple[int, Dict[str, Any]]:
        try:
            status, payload, _ = await self._once(method, path, body)
        except aiohttp.ClientError:
            pass  # e.g. the connection dropped before the answer arrived
        else:
            if not transient(status):
                return status, payload
        return await super().call(method, path, body and {k: v for k, v in body.items() if k != "idempotency_key"})


class RetriesWithoutKey(ReferenceConnector):
    """BACKEND-NO-ORPHANS: retries a failed submit without the idempotency key: a lost response means a 2nd job."""

    breaks = "BACKEND-NO-ORPHANS"
    evidence = ("job-1=SUBMITTED", "job-2=SUCCEEDED")

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self.client = KeylessRetryClient(self.client.base_url)


class UnknownStateRaises(Tweaked):
    """BACKEND-UNKNOWN-STATE-NO-ERROR: looks the phase up with PHASES[state]: a state it does not know raises."""

    breaks = "BACKEND-UNKNOWN-STATE-NO-ERROR"
    evidence = ("GetTask failed with INTERNAL", "KeyError: 'QUARANTINED'")

    def tweak(self, resource: Resource, view: Dict[str, Any]) -> Resource:
        resource.phase = PHASES[view["state"]]
        return resource


class UnknownStateUnnamed(Tweaked):
    """BACKEND-UNKNOWN-STATE: keeps polling on a state it does not know, but its message does not name it."""

    breaks = "BACKEND-UNKNOWN-STATE"
    evidence = ("RUNNING 'still running'",)

    def tweak(self, resource: Resource, view: Dict[str, Any]) -> Resource:
        if view["state"] not in PHASES:
            resource.message = "still running"
        return resource
