"""A metadata type with more than the reference's two scalars, for the fuzzing benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from flytekit.extend.backend.base_connector import ResourceMeta


@dataclass
class RichMeta(ResourceMeta):
    """Fields both META-FUZZ's resolver and plain ``st.from_type`` can generate, so the two compare fairly."""

    job_id: str
    attempt: int
    submitted_at: float
    cancelled: bool = False
    region: Optional[str] = None
    shards: List[int] = field(default_factory=list)
    labels: Dict[str, str] = field(default_factory=dict)
