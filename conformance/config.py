"""Knobs of a conformance run, with the platform's defaults (F-WIRE-3) as their values.

Each field is also a command-line option ``--connector-<option>`` and an ini key
``connector_<option>`` (with dashes as underscores): the plugin derives both from this class, so a new
knob is one field here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


def knob(default: Any, option: str, help: str) -> Any:
    """A config field with its command-line name and help."""
    return dataclasses.field(default=default, metadata={"option": option, "help": help})


@dataclass(frozen=True)
class ConformanceConfig:
    call_deadline: float = knob(10.0, "deadline", "seconds one call into the connector may take (F-WIRE-3)")
    lifecycle_budget: float = knob(30.0, "budget", "seconds a lifecycle may take to reach a terminal phase")
    max_polls: int = knob(500, "max-polls", "GetTask calls per lifecycle before giving up")
    poll_interval: float = knob(0.0, "poll-interval",
                                "seconds between polls; the platform uses 30 s (F-GET-1), the suite need not wait")
    metadata_size_limit: int = knob(64 * 1024, "metadata-limit", "largest encoded resource meta in bytes (F-WIRE-1)")
    fuzz_examples: int = knob(100, "fuzz-examples", "hypothesis examples per metadata fuzzing run (META-FUZZ)")


def knobs() -> tuple:
    """The config fields that are options, in declaration order."""
    return tuple(f for f in dataclasses.fields(ConformanceConfig) if "option" in f.metadata)
