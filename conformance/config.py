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
    fuzz_profile: str = knob("dev", "fuzz-profile",
                             "META-FUZZ profile: dev (fast), ci (more examples, fixed seed) or thorough")
    fuzz_seed: int = knob(0, "fuzz-seed", "META-FUZZ seed to reproduce a failure; 0 picks one (printed on failure)")
    snapshots_dir: str = knob("", "snapshots",
                              "directory of encoded metas from earlier runs, decoded by META-UPGRADE (F-WIRE-1)")
    loop_stall: float = knob(0.05, "loop-stall",
                             "seconds connector code may hold the service's event loop (LOOP-BLOCKING, F-WIRE-4)")
    allow_network: bool = knob(False, "allow-network",
                               "let connector code reach non-loopback hosts (live tests); off: NET-EGRESS refuses")
    isolate: bool = knob(False, "isolate",
                         "run each clause in a child process, so os._exit, a segfault or running out of memory "
                         "fails that clause instead of ending the session")
    memory_limit: int = knob(4096, "memory-limit",
                             "MiB of address space an isolated child may use (with --connector-isolate)")


def knobs() -> tuple:
    """The config fields that are options, in declaration order."""
    return tuple(f for f in dataclasses.fields(ConformanceConfig) if "option" in f.metadata)
