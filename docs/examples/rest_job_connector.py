"""A connector for the Jobs service (see rest_job_fake.py), and the task users put in their workflows.

It shows what the clauses ask of any connector: nothing blocking on the event loop (aiohttp), one
client token per task attempt (a retried CreateTask finds its job), transient errors retried a
bounded number of times, every status mapped to a phase, and a delete that tolerates gone jobs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import aiohttp
from flyteidl.core.execution_pb2 import TaskExecution
from flytekit import kwtypes
from flytekit.core.base_task import PythonTask
from flytekit.core.interface import Interface
from flytekit.extend.backend.base_connector import (AsyncConnectorBase, AsyncConnectorExecutorMixin, Resource,
                                                   ResourceMeta)
from flytekit.interaction.string_literals import literal_map_string_repr

URL_VARIABLE = "JOBS_URL"
PUBLIC_URL = "https://jobs.example.com"
ATTEMPTS, TIMEOUT = 3, 2.0
PHASES = {
    "queued": TaskExecution.QUEUED, "provisioning": TaskExecution.INITIALIZING,
    "running": TaskExecution.RUNNING, "cancelling": TaskExecution.RUNNING,
    "succeeded": TaskExecution.SUCCEEDED, "failed": TaskExecution.FAILED, "cancelled": TaskExecution.ABORTED,
}


class JobsTask(AsyncConnectorExecutorMixin, PythonTask):
    """A container image run by Jobs: ``x: int -> y: int``."""

    def __init__(self, name: str, image: str, **kwargs: Any) -> None:
        interface = Interface(inputs=kwtypes(x=int), outputs=kwtypes(y=int))
        super().__init__(name=name, task_type="jobs", interface=interface, **kwargs)
        self.image = image

    def get_custom(self, settings: Any) -> Dict[str, Any]:
        return {"image": self.image}


@dataclass
class JobMeta(ResourceMeta):
    job_id: str

    @classmethod
    def decode(cls, data: bytes) -> "JobMeta":
        """Fields a newer release added are ignored: its metas still decode after a rollback."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in json.loads(data).items() if key in known})


class Unavailable(Exception):
    """Jobs kept answering with transient errors."""


class JobsClient:
    """The Jobs API; 429s, 5xx answers and dropped connections are retried a bounded number of times."""

    def __init__(self, base_url: Optional[str] = None) -> None:
        self.base_url = (base_url or os.environ.get(URL_VARIABLE, PUBLIC_URL)).rstrip("/")

    async def call(self, method: str, path: str, body: Optional[dict] = None) -> Tuple[int, Dict[str, Any]]:
        for attempt in range(ATTEMPTS):
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
                    async with session.request(method, self.base_url + path, json=body) as response:
                        if response.status != 429 and response.status < 500:
                            return response.status, await response.json()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.05 * 2**attempt)
        raise Unavailable(f"{method} {path}: no answer after {ATTEMPTS} attempts")


def client_token(metadata: Any) -> Optional[str]:
    """One token per task attempt: a CreateTask sent twice for the same attempt must not start two jobs."""
    if metadata is None:
        return None
    execution = metadata.task_execution_id
    node = execution.node_execution_id
    return f"{node.execution_id.name}/{node.node_id}/{execution.retry_attempt}"


def resource(job: Dict[str, Any]) -> Resource:
    """A job as the platform sees it: a status the connector does not know yet is still running."""
    phase = PHASES.get(job["status"])
    if phase is None:
        return Resource(phase=TaskExecution.RUNNING, message=f"Jobs reported unknown status {job['status']!r}")
    outputs = job["result"] if phase == TaskExecution.SUCCEEDED else None
    return Resource(phase=phase, message=job["status_message"] or job["status"], outputs=outputs)


class JobsConnector(AsyncConnectorBase):
    name = "Jobs Connector"

    def __init__(self) -> None:
        super().__init__(task_type_name="jobs", metadata_type=JobMeta)
        self.client = JobsClient()

    def job_request(self, task_template: Any, output_prefix: str, inputs: Any, metadata: Any) -> Dict[str, Any]:
        """The body of the submit request."""
        return {"image": task_template.custom["image"], "client_token": client_token(metadata),
                "inputs": literal_map_string_repr(inputs) if inputs is not None else {}}

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None,
                     task_execution_metadata: Any = None, **kwargs: Any) -> JobMeta:
        body = self.job_request(task_template, output_prefix, inputs, task_execution_metadata)
        status, job = await self.client.call("POST", "/v1/jobs", body)
        if status not in (200, 201):
            raise RuntimeError(f"Jobs refused the job: HTTP {status}: {job['error']['message']}")
        return JobMeta(job_id=job["id"])

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        try:
            status, job = await self.client.call("GET", f"/v1/jobs/{resource_meta.job_id}")
        except Unavailable as exc:  # raising would spend the platform's error budget: poll again instead
            return Resource(phase=TaskExecution.RUNNING, message=f"Jobs unavailable, polling again: {exc}")
        if status == 404:  # Jobs is read-after-write consistent: the job was purged
            return Resource(phase=TaskExecution.RETRYABLE_FAILED, message=f"job {resource_meta.job_id} is gone")
        return resource(job)

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        status, answer = await self.client.call("POST", f"/v1/jobs/{resource_meta.job_id}/cancel")
        if status not in (200, 404):  # 404: purged, nothing left to cancel
            raise RuntimeError(f"cancel of job {resource_meta.job_id} failed: HTTP {status}: {answer}")
