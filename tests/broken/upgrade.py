"""Connectors that break an upgrade clause: the reference connector with one meta schema change each."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from flytekit.extend.backend.base_connector import ResourceMeta

from broken.metadata import MetaSwap
from conformance.reference import JobMeta

# --- META-UPGRADE ---------------------------------------------------------------------------------


@dataclass
class RenamedIdMeta(ResourceMeta):
    """job_id renamed to id in a refactor; decode() tolerates extra keys but has no fallback for the old name."""

    id: str
    submitted_at: float

    @property
    def job_id(self) -> str:
        return self.id

    @classmethod
    def decode(cls, data: bytes) -> RenamedIdMeta:
        fields = json.loads(data)
        return cls(id=fields["id"], submitted_at=fields["submitted_at"])


class RenamedMetaField(MetaSwap):
    """META-UPGRADE: a release renamed a meta field, so metas stored by the previous release no longer decode."""

    breaks = "META-UPGRADE"
    evidence = ("stored meta(s) no longer decode", "create-", "KeyError: 'id'")

    meta_type = RenamedIdMeta

    def convert(self, meta: JobMeta) -> RenamedIdMeta:
        return RenamedIdMeta(id=meta.job_id, submitted_at=meta.submitted_at)


# --- META-EXTRA-FIELD -----------------------------------------------------------------------------


@dataclass
class StrictMeta(JobMeta):
    decode = classmethod(ResourceMeta.decode.__func__)  # flytekit's default: every key must be a field


class StrictDecode(MetaSwap):
    """META-EXTRA-FIELD: flytekit's default decode(), which rejects a key it does not know."""

    breaks = "META-EXTRA-FIELD"
    evidence = ("KeyError: 'added_by_a_later_version'",)

    meta_type = StrictMeta


# --- META-MISSING-FIELD ---------------------------------------------------------------------------


@dataclass
class RegionMeta(JobMeta):
    region: str = "us-east-1"

    @classmethod
    def decode(cls, data: bytes) -> RegionMeta:
        fields = json.loads(data)
        known = {f.name for f in dataclasses.fields(cls)}
        region = fields.pop("region")  # KeyError for every meta stored before region existed
        return cls(**{k: v for k, v in fields.items() if k in known}, region=region)


class RequiredOnDecode(MetaSwap):
    """META-MISSING-FIELD: region has a default in the class, but decode() reads it as if always present."""

    breaks = "META-MISSING-FIELD"
    evidence = ("decoding the create() meta without 'region' failed: KeyError: 'region'",)

    meta_type = RegionMeta
