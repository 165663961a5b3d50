"""The reference connector: a client of the generic fake job service that passes every clause.

It shows the clean patterns the clauses ask for: nothing blocking inside ``async def`` (aiohttp),
create idempotent on the task execution id, delete tolerant of 404/409 (gone or finished), unknown
states mapped to a clear message, transient errors retried with a bound, a small lossless meta.

    pytest --connector=conformance.reference.ReferenceConnector
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import aiohttp
from flyteidl.admin.agent_pb2 import GetTaskLogsResponse, GetTaskLogsResponseBody, GetTaskMetricsResponse
from flyteidl.core.execution_pb2 import TaskExecution, TaskLog
from flytekit.extend.backend.base_connector import AsyncConnectorBase, Resource, ResourceMeta
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

URL_ENV = "CONFORMANCE_JOBS_URL"
TASK_TYPE = "conformance_job"
ATTEMPTS = 3
REQUEST_TIMEOUT = 2.0
VISIBILITY_GRACE = 60.0
"""Seconds after submit during which 'not found' means 'not visible yet' (F-CREATE-1)."""

PHASES = {
    "SUBMITTED": TaskExecution.QUEUED,
    "PENDING": TaskExecution.QUEUED,
    "RUNNING": TaskExecution.RUNNING,
    "CANCELLING": TaskExecution.RUNNING,
    "SUCCEEDED": TaskExecution.SUCCEEDED,
    "FAILED": TaskExecution.FAILED,
    "CANCELLED": TaskExecution.ABORTED,
}


@dataclass
class JobMeta(ResourceMeta):
    job_id: str
    submitted_at: float
    retry_attempt: int = 0
    """Added after the first release: metas stored before it decode with the default (META-MISSING-FIELD)."""

    @classmethod
    def decode(cls, data: bytes) -> "JobMeta":
        """Ignore fields this version does not know: a meta written by a newer release survives a rollback."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in json.loads(data).items() if k in known})


class Unavailable(Exception):
    """The job service kept answering with transient errors after every retry."""


class JobServiceClient:
    """HTTP calls to the job service with bounded retries of transient failures (429, 5xx, resets)."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    async def call(self, method: str, path: str, body: Optional[dict] = None) -> Tuple[int, Dict[str, Any]]:
        last = "no attempt made"
        for attempt in range(ATTEMPTS):
            try:
                status, payload, retry_after = await self._once(method, path, body)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                last, retry_after = f"{type(exc).__name__}: {exc}", None
            else:
                if status != 429 and status < 500:
                    return status, payload
                last = f"HTTP {status}: {payload.get('error', '')}"
            if attempt + 1 < ATTEMPTS:
                await asyncio.sleep(min(retry_after if retry_after is not None else 0.05 * 2 ** attempt, 1.0))
        raise Unavailable(f"{method} {path}: {last}")

    async def _once(self, method: str, path: str, body: Optional[dict]) -> Tuple[int, dict, Optional[float]]:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.request(method, self.base_url + path, json=body) as response:
                payload = await response.json(content_type=None)
                retry_after = response.headers.get("Retry-After")
                return response.status, payload or {}, float(retry_after) if retry_after else None


def idempotency_key(metadata: Optional[TaskExecutionMetadata]) -> Optional[str]:
    """One key per task attempt: a CreateTask retried for the same attempt must not start a second job."""
    if metadata is None:
        return None
    execution = metadata.task_execution_id
    workflow = execution.node_execution_id.execution_id
    return "/".join([workflow.project, workflow.domain, workflow.name,
                     execution.node_execution_id.node_id, str(execution.retry_attempt)])


def plain_inputs(inputs: Optional[LiteralMap]) -> Dict[str, Any]:
    from flytekit.interaction.string_literals import literal_map_string_repr

    return literal_map_string_repr(inputs) if inputs is not None else {}


class ReferenceConnector(AsyncConnectorBase):
    name = "Conformance Reference Connector"
    conformance_backend = "jobs"  # bound to the fake job service automatically by the suite

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(task_type_name=TASK_TYPE, metadata_type=JobMeta)
        url = base_url or os.environ.get(URL_ENV)
        if not url:
            raise ValueError(f"no job service URL: pass base_url= or set {URL_ENV}")
        self.client = JobServiceClient(url)

    async def create(self, task_template: TaskTemplate, output_prefix: str, inputs: Optional[LiteralMap] = None,
                     task_execution_metadata: Optional[TaskExecutionMetadata] = None, **kwargs) -> JobMeta:
        body = {"spec": {"task_type": task_template.type, "custom": task_template.custom or {}},
                "inputs": plain_inputs(inputs), "idempotency_key": idempotency_key(task_execution_metadata)}
        status, payload = await self.client.call("POST", "/jobs", body)
        if status != 200:
            raise RuntimeError(f"job service rejected the job: HTTP {status}: {payload.get('error')}")
        attempt = task_execution_metadata.task_execution_id.retry_attempt if task_execution_metadata else 0
        return JobMeta(job_id=payload["job_id"], submitted_at=time.time(), retry_attempt=attempt)

    async def get(self, resource_meta: JobMeta, **kwargs) -> Resource:
        try:
            status, view = await self.client.call("GET", f"/jobs/{resource_meta.job_id}")
        except Unavailable as exc:
            # Raising would cost the platform's error budget (F-GET-2); the job is re-polled anyway.
            return Resource(phase=TaskExecution.RUNNING, message=f"job service unavailable, will retry: {exc}")
        if status == 404:
            return self._missing(resource_meta)
        return self._resource(view)

    def _missing(self, meta: JobMeta) -> Resource:
        if time.time() - meta.submitted_at < VISIBILITY_GRACE:
            return Resource(phase=TaskExecution.QUEUED, message="job submitted, not visible yet")
        return Resource(phase=TaskExecution.RETRYABLE_FAILED, message=f"job {meta.job_id} no longer exists")

    def _resource(self, view: Dict[str, Any]) -> Resource:
        state = view["state"]
        phase = PHASES.get(state)
        message = view.get("message") or state.lower()
        if phase is None:
            phase, message = TaskExecution.RUNNING, f"job service reported unknown state {state!r}; still polling"
        return Resource(
            phase=phase,
            message=message,
            outputs=view.get("outputs") if phase == TaskExecution.SUCCEEDED else None,
            log_links=[TaskLog(uri=f"{self.client.base_url}/jobs/{view['job_id']}", name="Job status")],
            custom_info={"job_id": view["job_id"], "state": state},
        )

    async def delete(self, resource_meta: JobMeta, **kwargs) -> None:
        status, payload = await self.client.call("POST", f"/jobs/{resource_meta.job_id}/cancel")
        if status not in (200, 404, 409):  # 404: already purged, 409: already finished (F-DELETE-2)
            raise RuntimeError(f"cancel of job {resource_meta.job_id} failed: HTTP {status}: {payload.get('error')}")

    async def get_logs(self, resource_meta: JobMeta, **kwargs) -> GetTaskLogsResponse:
        resource = await self.get(resource_meta)
        line = f"job {resource_meta.job_id}: {TaskExecution.Phase.Name(resource.phase)} ({resource.message})"
        return GetTaskLogsResponse(body=GetTaskLogsResponseBody(results=[line]))

    async def get_metrics(self, resource_meta: JobMeta, **kwargs) -> GetTaskMetricsResponse:
        return GetTaskMetricsResponse(results=[])
