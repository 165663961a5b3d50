"""Connectors that break a deletion clause: delete() raises in one situation the platform produces."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, FrozenSet, Optional, Set

from conformance.reference import JobMeta, ReferenceConnector

STOP_CHECK_DELAY = 0.2
"""Seconds WaitsForStop gives the backend before checking the job stopped; much longer than the spread of
DELETE-CONCURRENT's four calls (~20 ms), so they always overlap."""
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class RefusesPending(ReferenceConnector):
    """DELETE-AFTER-CREATE: reads the job first and refuses to cancel one still PENDING ("nothing started yet")."""

    breaks = "DELETE-AFTER-CREATE"
    evidence = ("cannot cancel job job-1 (PENDING)",)

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        _, view = await self.client.call("GET", f"/jobs/{resource_meta.job_id}")
        if view.get("state") == "PENDING":
            raise RuntimeError(f"cannot cancel job {resource_meta.job_id} (PENDING)")
        await super().delete(resource_meta, **kwargs)


class ExplainsRefusal(ReferenceConnector):
    """When the backend will not cancel (404, 409), delete() looks the job up and raises for ``refused`` answers."""

    refused: ClassVar[FrozenSet[str]] = frozenset()

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        path = f"/jobs/{resource_meta.job_id}"
        status, payload = await self.client.call("POST", path + "/cancel")
        if status in (404, 409):
            status, view = await self.client.call("GET", path)
            answer = view.get("state") or f"HTTP {status}"
            if answer in self.refused:
                raise RuntimeError(f"cannot cancel job {resource_meta.job_id} ({answer})")
        elif status != 200:
            raise RuntimeError(f"cancel of job {resource_meta.job_id} failed: HTTP {status}: {payload.get('error')}")


class RefusesSucceeded(ExplainsRefusal):
    """DELETE-AFTER-SUCCESS: raises when asked to cancel a job that already SUCCEEDED."""

    breaks = "DELETE-AFTER-SUCCESS"
    evidence = ("cannot cancel job job-1 (SUCCEEDED)",)

    refused = frozenset({"SUCCEEDED"})


class RefusesFailed(ExplainsRefusal):
    """DELETE-AFTER-FAILURE: raises when asked to cancel a job that already FAILED."""

    breaks = "DELETE-AFTER-FAILURE"
    evidence = ("cannot cancel job job-1 (FAILED)",)

    refused = frozenset({"FAILED"})


class RefusesGone(ExplainsRefusal):
    """DELETE-PURGED: raises when the job to cancel is gone from the backend (HTTP 404, purged)."""

    breaks = "DELETE-PURGED"
    evidence = ("cannot cancel job job-1 (HTTP 404)",)

    refused = frozenset({"HTTP 404"})


class WaitsForStop(ReferenceConnector):
    """delete() cancels, then waits until the job has stopped, as SDKs' cancel-and-wait helpers do."""

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self._marked: Set[str] = set()  # job ids a subclass tracks: deleted, or being deleted

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        await super().delete(resource_meta, **kwargs)
        for _ in range(10):
            await asyncio.sleep(STOP_CHECK_DELAY)
            status, view = await self.client.call("GET", f"/jobs/{resource_meta.job_id}")
            if status == 404 or view.get("state") in TERMINAL_STATES:
                return


class RemembersDeleted(WaitsForStop):
    """DELETE-TWICE: remembers each job it stopped and raises "already deleted" when asked again."""

    breaks = "DELETE-TWICE"
    evidence = ("job job-1 was already deleted",)

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        if resource_meta.job_id in self._marked:
            raise RuntimeError(f"job {resource_meta.job_id} was already deleted")
        await super().delete(resource_meta, **kwargs)
        self._marked.add(resource_meta.job_id)


class OneDeleteAtATime(WaitsForStop):
    """DELETE-CONCURRENT: raises "already in progress" while another delete() of the same job is running."""

    breaks = "DELETE-CONCURRENT"
    evidence = ("3 failed", "a cancel of job job-1 is already in progress")

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        if resource_meta.job_id in self._marked:
            raise RuntimeError(f"a cancel of job {resource_meta.job_id} is already in progress")
        self._marked.add(resource_meta.job_id)
        try:
            await super().delete(resource_meta, **kwargs)
        finally:
            self._marked.discard(resource_meta.job_id)
