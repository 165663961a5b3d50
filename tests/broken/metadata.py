"""Connectors that break a metadata clause: the reference connector with one flawed meta class each."""

from __future__ import annotations

import dataclasses
import datetime
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Optional, Sequence

from conformance.reference import JobMeta, ReferenceConnector


class MetaSwap(ReferenceConnector):
    """The reference connector with ``meta_type`` as metadata_type; create() converts the reference meta."""

    meta_type: ClassVar[type] = JobMeta

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self._metadata_type = self.meta_type

    async def create(self, **kwargs: Any) -> Any:
        return self.convert(await super().create(**kwargs))

    def convert(self, meta: JobMeta) -> Any:
        return self.meta_type(job_id=meta.job_id, submitted_at=meta.submitted_at)


# --- META-CREATE-TYPE -----------------------------------------------------------------------------

@dataclass
class JobMetaV2(JobMeta):
    region: str = "default"

    @classmethod
    def decode(cls, data: bytes) -> JobMeta:
        fields = json.loads(data)
        # Metas stored before the upgrade have no region: they stay the old class (a compatible upgrade).
        return cls(**fields) if "region" in fields else JobMeta(**fields)


class StaleCreateType(MetaSwap):
    """META-CREATE-TYPE: metadata_type was bumped to JobMetaV2 but create() still returns the old JobMeta."""

    # JobMetaV2.decode keeps old-format metas as JobMeta (a compatible upgrade), so this meta still
    # round-trips; with a plain decode, META-ROUNDTRIP would fail too (JobMeta in, JobMetaV2 out).
    breaks = "META-CREATE-TYPE"
    evidence = ("create() returned JobMeta",)

    meta_type = JobMetaV2

    def convert(self, meta: JobMeta) -> JobMeta:
        return meta


# --- META-ENCODE-BYTES ----------------------------------------------------------------------------

@dataclass
class BufferMeta(JobMeta):
    def encode(self) -> bytearray:  # built incrementally in a buffer and never converted
        return bytearray(super().encode())


class BytearrayEncode(MetaSwap):
    """META-ENCODE-BYTES: encode() returns a bytearray instead of bytes."""

    # protobuf rejects every non-bytes value for CreateTaskResponse.resource_meta, so CreateTask fails: the
    # probe finds it once, and the clauses that create through the service are BLOCKED naming this clause.
    breaks = "META-ENCODE-BYTES"
    evidence = ("encode() returned bytearray",)

    meta_type = BufferMeta


# --- META-ROUNDTRIP -------------------------------------------------------------------------------

@dataclass
class QueuedMeta(JobMeta):
    queues: Sequence[str] = ()


class TupleInSequence(MetaSwap):
    """META-ROUNDTRIP-EXACT: create() stores a tuple in a Sequence[str] field; the default JSON decode gives a
    list, which still satisfies Sequence[str] and holds the same data (so META-ROUNDTRIP passes)."""

    breaks = "META-ROUNDTRIP-EXACT"
    evidence = ("meta.queues: expected tuple ('default',), got list ['default']",)

    meta_type = QueuedMeta

    def convert(self, meta: JobMeta) -> QueuedMeta:
        return QueuedMeta(meta.job_id, meta.submitted_at, queues=("default",))


# --- META-ROUNDTRIP-EXACT (a SHOULD: the list still satisfies Sequence[str]) and META-ROUNDTRIP -----

@dataclass
class StampedMeta(JobMeta):
    started: Optional[datetime.datetime] = None

    def encode(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), default=str).encode()  # str() for what json cannot encode


class DatetimeAsText(MetaSwap):
    """META-ROUNDTRIP: encodes a datetime with json's default=str, so it decodes as a str."""

    breaks = "META-ROUNDTRIP"
    # Hypothesis draws datetimes for the field too, so META-FUZZ finds the same loss: one root cause.
    cascade = frozenset({"META-FUZZ"})
    evidence = ("meta.started: expected datetime.datetime(2024, 5, 1, 12, 0), got str '2024-05-01 12:00:00'",)

    meta_type = StampedMeta

    def convert(self, meta: JobMeta) -> StampedMeta:
        return StampedMeta(meta.job_id, meta.submitted_at, started=datetime.datetime(2024, 5, 1, 12, 0))


@dataclass
class ListedMeta(JobMeta):
    queues: List[str] = field(default_factory=list)


class TupleInList(MetaSwap):
    """The correct twin of TupleInSequence: it declares List[str] and stores a list, which comes back a list."""

    meta_type = ListedMeta

    def convert(self, meta: JobMeta) -> ListedMeta:
        return ListedMeta(meta.job_id, meta.submitted_at, queues=["default"])


# --- META-SIZE ------------------------------------------------------------------------------------

@dataclass
class ScriptMeta(JobMeta):
    script: str = ""


class ScriptInMeta(MetaSwap):
    """META-SIZE: keeps the whole rendered job script (~100 KiB) in the meta, not just the job id."""

    breaks = "META-SIZE"
    evidence = ("at most 65536 bytes",)

    meta_type = ScriptMeta

    def convert(self, meta: JobMeta) -> ScriptMeta:
        script = "#!/bin/sh\n" + "".join(f"echo 'job {meta.job_id}: step {i}'\n" for i in range(3500))
        return ScriptMeta(meta.job_id, meta.submitted_at, script=script)


# --- META-FRESH-PROCESS ---------------------------------------------------------------------------

_LIVE_METAS: Dict[int, "HandleMeta"] = {}
"""Metas by id(): the 'cache' that makes a HandleMeta decodable only in the process that encoded it."""


@dataclass
class HandleMeta(JobMeta):
    def encode(self) -> bytes:
        _LIVE_METAS[id(self)] = self
        return str(id(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> HandleMeta:
        return _LIVE_METAS[int(data)]


class IdHandleMeta(MetaSwap):
    """META-FRESH-PROCESS: encode() stores only id(self), a key into this process's memory."""

    breaks = "META-FRESH-PROCESS"
    evidence = ("decoding in a fresh process failed: KeyError",)

    meta_type = HandleMeta


# --- META-FUZZ ------------------------------------------------------------------------------------

@dataclass
class RetriedMeta(JobMeta):
    previous_jobs: Dict[int, str] = field(default_factory=dict)
    """Job id per earlier retry attempt: empty on the first attempt, so create()'s meta round-trips."""


class IntKeyedDict(MetaSwap):
    """META-FUZZ: a Dict[int, str] field, whose int keys the default JSON encode turns into str keys."""

    breaks = "META-FUZZ"
    evidence = (
        "shrunk counterexample: RetriedMeta(job_id='', submitted_at=0.0, retry_attempt=0, previous_jobs={0: ''})",
        "meta.previous_jobs: missing key 0",
    )

    meta_type = RetriedMeta
