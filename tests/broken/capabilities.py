"""Connectors that break a capability clause: get_logs/get_metrics answer something other than the response."""

from __future__ import annotations

from typing import List, Optional

from flyteidl.admin.agent_pb2 import GetTaskMetricsResponse
from flytekit.extend.backend.utils import is_terminal_phase

from conformance.reference import JobMeta, ReferenceConnector


class LogLinesList(ReferenceConnector):
    """CAP-LOGS: get_logs() returns the log lines as a list of str, not a GetTaskLogsResponse."""

    breaks = "CAP-LOGS"
    evidence = ("for a running job it returned list",)

    async def get_logs(self, resource_meta: JobMeta, **kwargs) -> List[str]:
        return list((await super().get_logs(resource_meta)).body.results)


class NoMetricsWhenFinished(ReferenceConnector):
    """CAP-METRICS: get_metrics() returns None once the job has finished."""

    breaks = "CAP-METRICS"
    evidence = ("for a finished job it returned NoneType",)

    async def get_metrics(self, resource_meta: JobMeta, **kwargs) -> Optional[GetTaskMetricsResponse]:
        if is_terminal_phase((await self.get(resource_meta)).phase):
            return None
        return await super().get_metrics(resource_meta)
