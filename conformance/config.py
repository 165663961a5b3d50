"""Knobs of a conformance run, with the platform's defaults (F-WIRE-3) as their values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConformanceConfig:
    call_deadline: float = 10.0
    """Seconds one RPC or direct call may take: the connector deadline of F-WIRE-3."""
    lifecycle_budget: float = 30.0
    """Seconds from CreateTask to a terminal phase before the lifecycle clause gives up."""
    max_polls: int = 500
    """GetTask calls per lifecycle before giving up, so a never-ending job cannot spin forever."""
    poll_interval: float = 0.0
    """Seconds between polls; the platform uses 30 s (F-GET-1), the suite need not wait at all."""
    metadata_size_limit: int = 64 * 1024
    """Encoded resource meta must stay below this many bytes (F-WIRE-1)."""
    fuzz_examples: int = 100
    """Hypothesis examples per metadata fuzzing run."""
