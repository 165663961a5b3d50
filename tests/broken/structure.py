"""Connectors that break a structure clause."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Optional

from flyteidl.admin.agent_pb2 import GetTaskMetricsResponse
from flytekit.extend.backend.base_connector import ConnectorRegistry, ResourceMeta, TaskCategory

from conformance.reference import JobMeta, ReferenceConnector

from .metadata import MetaSwap


class EmptyTaskCategory(ReferenceConnector):
    """STRUCT-TASK-CATEGORY: registers under an empty task type name."""

    breaks = "STRUCT-TASK-CATEGORY"
    evidence = ("name=''",)

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self._task_category = type(self._task_category)(name="", version=0)


@dataclass
class StandaloneMeta:
    """Encodes and decodes like a ResourceMeta, but does not subclass it."""

    job_id: str
    submitted_at: float

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> StandaloneMeta:
        return cls(**json.loads(data))


class NotAResourceMeta(MetaSwap):
    """STRUCT-METADATA-TYPE: metadata_type is a dataclass with its own encode/decode, not a ResourceMeta."""

    breaks = "STRUCT-METADATA-TYPE"
    evidence = ("StandaloneMeta",)

    meta_type = StandaloneMeta


class NamespaceMeta(SimpleNamespace, ResourceMeta):
    """A meta without @dataclass; encode/decode are hand-written since asdict() needs a dataclass."""

    def encode(self) -> bytes:
        return json.dumps(vars(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> NamespaceMeta:
        return cls(**json.loads(data))


class NotADataclassMeta(MetaSwap):
    """STRUCT-METADATA-TYPE: metadata_type subclasses ResourceMeta but is not a @dataclass."""

    breaks = "STRUCT-METADATA-TYPE"
    evidence = ("NamespaceMeta", "is @dataclass missing?")

    meta_type = NamespaceMeta


class RenamedMetricsArgument(ReferenceConnector):
    """STRUCT-SIGNATURES: get_metrics() names its argument `meta`, but the service passes resource_meta=."""

    breaks = "STRUCT-SIGNATURES"
    # get_metrics() is also called by CAP-METRICS, with the same keyword the service uses: the TypeError
    # this clause predicts happens there too. Every method in the clause is called by some other clause,
    # so a signature bug always brings down at least one; get_metrics is the one used by the fewest.
    cascade = frozenset({"CAP-METRICS"})
    evidence = ("get_metrics(meta:", "missing a required argument: 'meta'")

    async def get_metrics(self, meta: JobMeta, **kwargs) -> GetTaskMetricsResponse:
        return await super().get_metrics(meta)


SQUATTED = "conformance_squatted"
"""A task type an installed plugin (``Incumbent`` here) already serves."""
NOWHERE = "http://127.0.0.1:9"
"""The URL of the instances registered at import: they are never called."""


class Incumbent(ReferenceConnector):
    """Stands in for an installed plugin's connector, registered at import as plugins do."""

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url or NOWHERE)
        self._task_category = TaskCategory(name=SQUATTED, version=0)


class TaskTypeTaken(Incumbent):
    """STRUCT-TASK-TYPE-FREE: another class on the task type and version an installed plugin registered."""

    breaks = "STRUCT-TASK-TYPE-FREE"
    evidence = (
        "ConnectorRegistry already routes conformance_squatted_v0 to broken.structure.Incumbent",
        "ValueError('Duplicate connector for task type: conformance_squatted_v0')",
    )


class NextVersion(Incumbent):
    """Twin: the same task type under a new version, which register() accepts beside the old one."""

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self._task_category = TaskCategory(name=SQUATTED, version=1)


class RegistersItself(ReferenceConnector):
    """Twin: registers its own instance at import, as real plugins do; that is no collision with itself."""

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url or NOWHERE)
        self._task_category = TaskCategory(name="conformance_self_registered", version=0)


# override=True only because pytester re-imports this module in every in-process run; plugins register plainly.
ConnectorRegistry.register(Incumbent(), override=True)
ConnectorRegistry.register(RegistersItself(), override=True)
