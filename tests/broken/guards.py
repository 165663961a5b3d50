"""Connectors that break a guard clause: the reference connector with one habit that the guards catch."""

from __future__ import annotations

import asyncio
import base64
import pickle
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

from flyteidl.core.execution_pb2 import TaskLog
from flytekit.extend.backend.base_connector import Resource
from flytekit.extend.backend.utils import get_connector_secret

from broken.metadata import MetaSwap
from conformance.reference import JobMeta, ReferenceConnector

STOP_WAIT = 0.25
"""Seconds BlocksTheLoop sleeps: five times the default stall threshold, far below the call deadline."""
TELEMETRY = ("203.0.113.7", 443)
"""TEST-NET-3 (RFC 5737): documentation-only, never routed; the guard refuses it before any packet leaves."""
WATCH_SECONDS = 20.0


class BlocksTheLoop(ReferenceConnector):
    """LOOP-BLOCKING: delete() waits for the cancel to settle with time.sleep instead of asyncio.sleep."""

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        await super().delete(resource_meta, **kwargs)
        time.sleep(STOP_WAIT)


class TokenInLogLink(ReferenceConnector):
    """SECRET-CANARY: reads its API token through flytekit and puts it into the job's log link."""

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

    meta_type = PickledJobMeta


class Base64PickledMeta(PickledMeta):
    """META-NO-PICKLE: only the audit hook sees it: decode() unpickles base64-wrapped bytes."""

    meta_type = Base64PickledJobMeta


class PhonesHome(ReferenceConnector):
    """NET-EGRESS: create() sends best-effort usage telemetry to a fixed host, ignoring any failure."""

    async def create(self, **kwargs: Any) -> JobMeta:
        try:
            _, writer = await asyncio.open_connection(*TELEMETRY)
            writer.close()
        except OSError:
            pass  # telemetry must never fail a job
        return await super().create(**kwargs)


class WatcherThreads(ReferenceConnector):
    """HYGIENE: create() starts a thread to watch the job, which nothing ever stops."""

    async def create(self, **kwargs: Any) -> JobMeta:
        meta = await super().create(**kwargs)
        threading.Thread(target=self._watch, args=(meta.job_id,), name=f"watch-{meta.job_id}", daemon=True).start()
        return meta

    def _watch(self, job_id: str) -> None:
        time.sleep(WATCH_SECONDS)
