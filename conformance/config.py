"""Knobs of a conformance run, with the platform's defaults (F-WIRE-3) as their values.

Each field is also a command-line option ``--connector-<field, dashed>`` and an ini key
``connector_<field>``: the plugin derives both from this class, so a new
knob is one field here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


def knob(default: Any, help: str, choices: tuple[str, ...] = ()) -> Any:
    """A config field with its help (and, for a word-valued knob, its valid values); its name is the
    option's (``--connector-<name with dashes>``)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class ConformanceConfig:
    deadline: float = knob(10.0, "seconds one call into the connector may take (F-WIRE-3)")
    budget: float = knob(30.0, "seconds a lifecycle may take to reach a terminal phase")
    max_polls: int = knob(500, "GetTask calls per lifecycle before giving up")
    poll_interval: float = knob(0.0, "seconds between polls; the platform uses 30 s (F-GET-1), the suite need not wait")
    metadata_limit: int = knob(64 * 1024, "largest encoded resource meta in bytes (F-WIRE-1)")
    fuzz_examples: int = knob(100, "hypothesis examples per metadata fuzzing run (META-FUZZ)")
    fuzz_profile: str = knob("dev", "META-FUZZ profile: dev (fast), ci (more examples, fixed seed) or thorough")
    fuzz_seed: int = knob(0, "META-FUZZ seed to reproduce a failure; 0 picks one (printed on failure)")
    snapshots: str = knob("", "directory of encoded metas from earlier runs, decoded by META-UPGRADE (F-WIRE-1)")
    loop_stall: float = knob(0.05, "seconds connector code may hold the service's event loop (LOOP-BLOCKING, F-WIRE-4)")
    allow_network: bool = knob(False,
                               "let connector code reach non-loopback hosts (live tests); off: NET-EGRESS refuses")
    isolate: bool = knob(False, "run each clause in a child process, so os._exit, a segfault or running out of memory "
                         "fails that clause instead of ending the session")
    memory_limit: int = knob(4096, "MiB of address space an isolated child may use (with --connector-isolate)")


def knobs() -> tuple:
    """The config fields that are options, in declaration order."""
    return tuple(f for f in dataclasses.fields(ConformanceConfig) if "help" in f.metadata)


def option_name(field: dataclasses.Field) -> str:
    """``--connector-<this>``: the field's name with dashes, so config and command line use one vocabulary."""
    return field.name.replace("_", "-")
