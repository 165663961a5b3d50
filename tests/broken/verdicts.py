"""Connectors for verdicts you can trust: one setup cause reported once, harness trouble never a FAIL.

Each is the reference connector with one change; ``tests/test_verdicts.py`` runs them end to end.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, List, Tuple, Union

from flytekit.core.resources import Resources

from conformance.reference import JobMeta, ReferenceConnector

from .metadata import MetaSwap

# --- one cause, reported once -----------------------------------------------------------------------


class NeedsProjectID(ReferenceConnector):
    """Needs its real task config, as BigQuery's connector does: create() reads custom["ProjectID"], which
    the suite's default template does not carry. Correct once the template fixture gives it."""

    async def create(self, task_template: Any, output_prefix: str, **kwargs: Any) -> JobMeta:
        task_template.custom["ProjectID"]
        return await super().create(task_template, output_prefix, **kwargs)


class CreateReturnsNone(ReferenceConnector):
    """META-CREATE-TYPE, once: create() submits the job but forgets to return its meta."""

    async def create(self, **kwargs: Any) -> None:
        await super().create(**kwargs)


@dataclass
class BulkyMeta(JobMeta):
    payload: str = ""


class MetaOverTheWire(MetaSwap):
    """META-SIZE, once: a 5 MB meta, over gRPC's 4 MiB message limit, so every CreateTask answers
    RESOURCE_EXHAUSTED and nothing that needs a created job can be checked."""

    meta_type = BulkyMeta

    def convert(self, meta: JobMeta) -> BulkyMeta:
        return BulkyMeta(meta.job_id, meta.submitted_at, payload="x" * (5 << 20))


class GetHangs(ReferenceConnector):
    """PHASE-TERMINATES, once: get() awaits forever (a backend call without a timeout)."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Any:
        await asyncio.sleep(3600)


# --- a round trip that keeps the data and the declared type (META-ROUNDTRIP passes; a SHOULD fails) --

@dataclass
class LabelsMeta(JobMeta):
    labels: Union[str, List[str], Tuple[str, ...]] = ()
    """json gives a tuple back as a list, which still satisfies List[str]."""


class EmptyTupleLabels(MetaSwap):
    """META-ROUNDTRIP-EXACT only: () comes back [] under Union[str, List[str], Tuple]: same data, declared type."""

    meta_type = LabelsMeta


# --- what must never be a connector FAIL --------------------------------------------------------------

@dataclass
class SizedMeta(JobMeta):
    resources: Resources = field(default_factory=Resources)
    """flytekit's Resources: its hints allow cpu=(), which its __post_init__ refuses."""

    @classmethod
    def decode(cls, data: bytes) -> "SizedMeta":
        meta = super().decode(data)
        meta.resources = Resources(**meta.resources)
        return meta


class ResourcesInMeta(MetaSwap):
    """Correct: its meta holds flytekit Resources, which hypothesis cannot always build from the hints."""

    meta_type = SizedMeta


async def _instant_sleep(delay: float, result: Any = None) -> Any:
    return result


class PatchesSleep(ReferenceConnector):
    """Installs a blocking double for asyncio.sleep on construction (as some test helpers do): the suite
    must put it back and carry on, not fail with tracebacks of its own."""

    def __init__(self, base_url: Any = None):
        super().__init__(base_url)
        asyncio.sleep = lambda delay, result=None: time.sleep(min(delay, 0.001)) or _instant_sleep(0, result)
