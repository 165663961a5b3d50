"""Connectors that break a guard clause: the reference connector with one habit that the guards catch."""

from __future__ import annotations

import asyncio
import base64
import pickle
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import requests
from flyteidl.core.execution_pb2 import TaskExecution, TaskLog
from flytekit.extend.backend.base_connector import Resource
from flytekit.extend.backend.utils import get_connector_secret

from broken.metadata import MetaSwap
from conformance.reference import JobMeta, JobServiceClient, ReferenceConnector

STOP_WAIT = 0.25
"""Seconds BlocksTheLoop sleeps: five times the default stall threshold, far below the call deadline."""
TELEMETRY = ("203.0.113.7", 443)
"""TEST-NET-3 (RFC 5737): documentation-only, never routed; the guard refuses it before any packet leaves."""
WATCH_SECONDS = 20.0


class BlocksTheLoop(ReferenceConnector):
    """LOOP-BLOCKING: delete() waits for the cancel to settle with time.sleep instead of asyncio.sleep."""

    breaks = "LOOP-BLOCKING"
    evidence = ("the loop stalled", "guards.py", "in delete: time.sleep(STOP_WAIT)")

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        await super().delete(resource_meta, **kwargs)
        time.sleep(STOP_WAIT)


class TokenInLogLink(ReferenceConnector):
    """SECRET-CANARY: reads its API token through flytekit and puts it into the job's log link."""

    breaks = "SECRET-CANARY"
    evidence = ("secret _FSEC_JOBS_TOKEN in get() Resource.log_links", "PHASE-ACCEPTED")

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self.token = get_connector_secret("jobs_token")

    def _resource(self, view: dict) -> Resource:
        resource = super()._resource(view)
        resource.log_links = [TaskLog(uri=f"{self.client.base_url}/jobs/{view['job_id']}?token={self.token}",
                                      name="Job status")]
        return resource


@dataclass
class PickledJobMeta(JobMeta):
    """Pickled "to keep every type exact": round-trips perfectly, and unpickles whatever it is given."""

    def encode(self) -> bytes:
        return pickle.dumps(self)

    @classmethod
    def decode(cls, data: bytes) -> "PickledJobMeta":
        return pickle.loads(data)


@dataclass
class Base64PickledJobMeta(JobMeta):
    """The same, base64-wrapped: the bytes are no pickle stream, decode() still unpickles."""

    def encode(self) -> bytes:
        return base64.b64encode(pickle.dumps(self))

    @classmethod
    def decode(cls, data: bytes) -> "Base64PickledJobMeta":
        return pickle.loads(base64.b64decode(data))


class PickledMeta(MetaSwap):
    """META-NO-PICKLE: the meta is a pickle stream, and decode() unpickles it."""

    breaks = "META-NO-PICKLE"
    evidence = (
        "encode() produced a pickle stream",
        "pickle.find_class('broken.guards', 'PickledJobMeta')",
        "in decode: return pickle.loads(data)",
    )

    meta_type = PickledJobMeta


class Base64PickledMeta(PickledMeta):
    """META-NO-PICKLE: only the audit hook sees it: decode() unpickles base64-wrapped bytes."""

    breaks = "META-NO-PICKLE"
    evidence = ("decode() unpickles a class", "in decode: return pickle.loads(base64.b64decode(data))")

    meta_type = Base64PickledJobMeta


class PhonesHome(ReferenceConnector):
    """NET-EGRESS: create() sends best-effort usage telemetry to a fixed host, ignoring any failure."""

    breaks = "NET-EGRESS"
    evidence = ("refused connect to 203.0.113.7:443 from guards.py", "in report_usage", "META-CREATE-TYPE")

    async def create(self, **kwargs: Any) -> JobMeta:
        await self.report_usage()
        return await super().create(**kwargs)

    @staticmethod
    async def report_usage() -> None:
        try:
            _, writer = await asyncio.open_connection(*TELEMETRY)
            writer.close()
        except OSError:
            pass  # telemetry must never fail a job


class WatcherThreads(ReferenceConnector):
    """HYGIENE: create() starts a thread to watch the job, which nothing ever stops."""

    breaks = "HYGIENE"
    evidence = ("thread 'watch-job-", "in _watch: time.sleep(WATCH_SECONDS)")

    async def create(self, **kwargs: Any) -> JobMeta:
        meta = await super().create(**kwargs)
        threading.Thread(target=self._watch, args=(meta.job_id,), name=f"watch-{meta.job_id}", daemon=True).start()
        return meta

    def _watch(self, job_id: str) -> None:
        time.sleep(WATCH_SECONDS)


# --- guards watch every clause: evidence from fault clauses, failures and deletes --------------------

BACKOFF = 0.2
"""Seconds BlocksOnRetry sleeps before a retry: a stall only a fault clause provokes."""


class BlockingBackoffClient(JobServiceClient):
    """Backs off with time.sleep when the service answers 5xx: the loop stalls only when the backend errs."""

    async def _once(self, method: str, path: str, body: Optional[dict]) -> Tuple[int, dict, Optional[float]]:
        status, payload, retry_after = await super()._once(method, path, body)
        if status >= 500:
            time.sleep(BACKOFF)
        return status, payload, retry_after


class BlocksOnRetry(ReferenceConnector):
    """LOOP-BLOCKING: the stall happens only while BACKEND-GET-TRANSIENT makes the status call fail."""

    breaks = "LOOP-BLOCKING"
    # evidence from a fault clause: the stall happens only while the status call answers 503
    evidence = ("the loop stalled", "in _once: time.sleep(BACKOFF)", "(seen in BACKEND-GET-TRANSIENT)")

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self.client = BlockingBackoffClient(self.client.base_url)


class RefusesLateDeletes(ReferenceConnector):
    """delete() raises for a finished job (409): DELETE- findings, which must not hide what the guards saw."""

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        status, payload = await self.client.call("POST", f"/jobs/{resource_meta.job_id}/cancel")
        if status == 409:
            raise RuntimeError(f"cancel of job {resource_meta.job_id} failed: HTTP {status}: {payload.get('error')}")


class LeaksAndRefusesLateDeletes(RefusesLateDeletes):
    """HYGIENE: every get() opens a socket it never closes."""

    breaks = "HYGIENE"
    # one failure hides no other check: deletes of finished jobs fail, the socket leak is still measured
    cascade = frozenset({"DELETE-AFTER-FAILURE", "DELETE-AFTER-SUCCESS"})
    evidence = ("open socket(s) (since a lifecycle, then DeleteTask)",)

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self.probes: list = []

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        self.probes.append(socket.socket())  # a health probe nobody closes
        return await super().get(resource_meta, **kwargs)


class PhonesHomeOnAbort(RefusesLateDeletes):
    """NET-EGRESS: only delete() reports the abort to a fixed host; deletes of finished jobs fail too."""

    breaks = "NET-EGRESS"
    # its deletes of finished jobs fail too (RefusesLateDeletes)
    cascade = frozenset({"DELETE-AFTER-FAILURE", "DELETE-AFTER-SUCCESS"})
    evidence = ("refused connect to 203.0.113.7:443 from guards.py", "in report_usage", "DELETE-")

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        await PhonesHome.report_usage()
        await super().delete(resource_meta, **kwargs)


class PickledMetaCreateFails(PickledMeta):
    """META-NO-PICKLE: create() fails on the default task, yet the meta type pickles (fuzzing builds metas)."""

    breaks = "META-NO-PICKLE"
    # create() fails, but fuzzing samples of the same class are pickled and unpickled
    cascade = frozenset({"META-CREATE-TYPE"})
    evidence = ("encode() produced a pickle stream", "in decode: return pickle.loads(data)")

    async def create(self, **kwargs: Any) -> JobMeta:
        raise RuntimeError("missing task config: 'cluster'")


# --- blocking I/O on the loop at any backend latency ------------------------------------------------

class SyncHttpInAsync(ReferenceConnector):
    """LOOP-BLOCKING: get() calls the job service with requests inside async def; the fake answers in 1 ms."""

    breaks = "LOOP-BLOCKING"
    evidence = ("blocked the event loop at guards.py", "in get: answer = requests.get(")

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        answer = requests.get(f"{self.client.base_url}/jobs/{resource_meta.job_id}", timeout=5)
        return self._answer(resource_meta, answer)

    def _answer(self, meta: JobMeta, answer: requests.Response) -> Resource:
        if answer.status_code == 404:
            return self._missing(meta)
        if answer.status_code >= 500:
            return Resource(phase=TaskExecution.RUNNING, message=f"job service answered {answer.status_code}; retrying")
        return self._resource(answer.json())


class NapsInCreate(ReferenceConnector):
    """LOOP-BLOCKING: a 5 ms time.sleep inside async def, far below the stall threshold."""

    breaks = "LOOP-BLOCKING"
    evidence = ("time.sleep(0.005) blocked the event loop at guards.py", "in create: time.sleep(0.005)")

    async def create(self, **kwargs: Any) -> JobMeta:
        time.sleep(0.005)  # "let the backend settle"
        return await super().create(**kwargs)


class BusyInGet(ReferenceConnector):
    """LOOP-BLOCKING: parses a large answer in pure Python on the loop (a CPU-bound stall, no blocking call)."""

    breaks = "LOOP-BLOCKING"
    evidence = ("the loop stalled", "in get: while time.thread_time() < busy_until:")

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        busy_until = time.thread_time() + STOP_WAIT  # CPU time: the same work on a busy machine
        while time.thread_time() < busy_until:
            pass
        return await super().get(resource_meta, **kwargs)


class SyncHttpInExecutor(SyncHttpInAsync):
    """Twin: the same requests call, moved off the loop with run_in_executor."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        url = f"{self.client.base_url}/jobs/{resource_meta.job_id}"
        answer = await asyncio.get_running_loop().run_in_executor(None, lambda: requests.get(url, timeout=5))
        return self._answer(resource_meta, answer)


# --- secrets on every path ----------------------------------------------------------------------------

class TokenInFailureMessage(TokenInLogLink):
    """SECRET-CANARY: a failed job's message echoes the request, token included; success paths are clean."""

    breaks = "SECRET-CANARY"
    evidence = ("secret _FSEC_JOBS_TOKEN in get() Resource.message", "PHASE-FAILURE-MESSAGE", "DELETE-AFTER-FAILURE")

    def _resource(self, view: dict) -> Resource:
        resource = ReferenceConnector._resource(self, view)
        if resource.phase == TaskExecution.FAILED:
            resource.message = (f"job failed: {resource.message} "
                                f"(request: GET /jobs/{view['job_id']} token={self.token})")
        return resource


class TokenInFailureLogLink(TokenInLogLink):
    """SECRET-CANARY: only on failure, a log link to the backend's error page carries the token."""

    breaks = "SECRET-CANARY"
    evidence = ("secret _FSEC_JOBS_TOKEN in get() Resource.log_links", "PHASE-FAILURE-MESSAGE")

    def _resource(self, view: dict) -> Resource:
        resource = ReferenceConnector._resource(self, view)
        if resource.phase == TaskExecution.FAILED:
            resource.log_links.append(TaskLog(uri=f"{self.client.base_url}/errors/{view['job_id']}?token={self.token}",
                                              name="Error details"))
        return resource
