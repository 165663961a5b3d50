"""A connector that does no work, so what a benchmark of it measures is the harness and the service alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.extend.backend.base_connector import AsyncConnectorBase, Resource, ResourceMeta


@dataclass
class NoopMeta(ResourceMeta):
    job: str


class NoopConnector(AsyncConnectorBase):
    """Every job has already succeeded: create, one get, delete are each one service round trip."""

    name = "Benchmark No-op Connector"

    def __init__(self) -> None:
        super().__init__(task_type_name="benchmark_noop", metadata_type=NoopMeta)

    async def create(self, task_template: Any, output_prefix: str, **kwargs: Any) -> NoopMeta:
        return NoopMeta(job=output_prefix)

    async def get(self, resource_meta: NoopMeta, **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecution.SUCCEEDED, message="done")

    async def delete(self, resource_meta: NoopMeta, **kwargs: Any) -> None:
        return None
