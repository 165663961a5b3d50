"""Knobs of a conformance run, with the platform's defaults (F-WIRE-3) as their values.

Each field is also a command-line option ``--connector-<field, dashed>``, an ini key
``connector_<field>`` and, where load mode uses it, a ``python -m conformance.load`` flag of the same
name: the plugin and load mode derive them from this class, so a new knob is one field here. Every
value given as text (option, ini key, flag) goes through :func:`parse`, which names the valid values.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def knob(default: Any, help: str, choices: tuple[str, ...] = (), *, parse: Callable[[str], Any] | None = None,
         valid: str = "", header: bool = False) -> Any:
    """A config field with its help; its name is the option's (``--connector-<name with dashes>``).

    ``choices``: the valid words of a word-valued knob. ``parse``/``valid``: a knob whose text needs its own
    parser (raising ValueError) and the words that describe its valid values. ``header``: always shown in
    the pytest header (other knobs are shown when set away from their default)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices, "parse": parse,
                                                        "valid": valid, "header": header})


@dataclass(frozen=True)
class FuzzProfile:
    """How deep META-FUZZ searches: the least examples, and a fixed seed (None: a fresh one per run)."""

    min_examples: int
    fixed_seed: int | None


FUZZ_PROFILES = {
    "dev": FuzzProfile(min_examples=0, fixed_seed=None),
    "ci": FuzzProfile(min_examples=1000, fixed_seed=20240601),
    "thorough": FuzzProfile(min_examples=10_000, fixed_seed=None),
}
"""``dev`` keeps the edit loop fast, ``ci`` never flakes a merge gate, ``thorough`` is for a nightly job."""


ISOLATIONS = ("process", "clause", "none")
MEMORY_LIMIT = 4096


@dataclass(frozen=True)
class ConformanceConfig:
    deadline: float = knob(10.0, "seconds one call into the connector may take (F-WIRE-3)", header=True)
    budget: float = knob(30.0, "seconds a lifecycle may take to reach a terminal phase", header=True)
    max_polls: int = knob(500, "GetTask calls per lifecycle before giving up")
    poll_interval: float = knob(0.0, "seconds between polls; the platform uses 30 s (F-GET-1), the suite need not wait")
    metadata_limit: int = knob(64 * 1024, "largest encoded resource meta in bytes (F-WIRE-1)")
    fuzz_examples: int = knob(100, "hypothesis examples per metadata fuzzing run (META-FUZZ)")
    fuzz_profile: str = knob("dev", "META-FUZZ depth: dev (fast), ci (>= 1000 examples, fixed seed), thorough "
                             "(>= 10000)", choices=tuple(FUZZ_PROFILES), header=True)
    fuzz_seed: int = knob(0, "META-FUZZ seed to replay a failure; 0 picks one (shown in the header and on failure)",
                          header=True)
    snapshots: str = knob("", "directory of encoded metas from earlier runs, decoded by META-UPGRADE (F-WIRE-1)")
    loop_stall: float = knob(0.05, "seconds connector code may hold the service's event loop (LOOP-BLOCKING, F-WIRE-4)")
    suite_budget: float = knob(600.0, "seconds the suite may spend on one connector in one pytest process; clauses "
                               "not started by then are NOT RUN (a backstop: a hang or a blocked loop costs about "
                               "one deadline)")
    service_log: str = knob("", "file that keeps flytekit's log records from the connector service, each cut to 2000 "
                            "characters (a failure names how many were logged, and this file)")
    allow_network: bool = knob(False,
                               "let connector code reach non-loopback hosts (live tests); off: NET-EGRESS refuses")
    isolation: str = knob("process", "where connector code runs: process (one child process per pytest process, "
                          "replaced after a crash), clause (a fresh child per clause) or none (in the suite's own "
                          "process: pdb works, nothing protects the run)", choices=ISOLATIONS, header=True)
    memory_limit: int = knob(MEMORY_LIMIT, "MiB of address space the connector's child process may use (not with "
                             "isolation=none)")

    def __post_init__(self) -> None:
        """A word-valued knob outside its choices is refused here, for library callers too (check_connector)."""
        for field in knobs(type(self)):
            if field.metadata["choices"]:
                parse(field, getattr(self, field.name), field.name)
        if self.isolation == "none" and self.memory_limit != MEMORY_LIMIT:
            raise ValueError("memory_limit: applies only to the connector's child process, and isolation=none runs "
                             "connector code in the suite's own process; use isolation=process or clause")


def knobs(of: type = ConformanceConfig) -> tuple:
    """The fields of ``of`` that are options, in declaration order: ConformanceConfig, or gate.GateOptions."""
    return tuple(f for f in dataclasses.fields(of) if "help" in f.metadata)


def option_name(field: dataclasses.Field) -> str:
    """``--connector-<this>``: the field's name with dashes, so config and command line use one vocabulary."""
    return field.name.replace("_", "-")


def kind(field: dataclasses.Field) -> type:
    """The knob's value type, from its default (annotations are strings under ``from __future__``)."""
    return type(field.default)


def valid_values(field: dataclasses.Field) -> str:
    """What the knob accepts, in words, for usage errors and the README's options table."""
    if field.metadata["valid"] or field.metadata["choices"]:
        return field.metadata["valid"] or "one of " + ", ".join(field.metadata["choices"])
    return {bool: "true or false", int: "an integer", float: "a number"}.get(kind(field), "")


def parse(field: dataclasses.Field, value: Any, source: str) -> Any:
    """The knob's value from text (or an already typed value); a ValueError naming ``source`` (the option,
    ini key or flag it came from) and the valid values otherwise."""
    try:
        return _parsed(field, value)
    except (ValueError, TypeError):
        raise ValueError(f"{source}: {value!r} is not a valid value; use {valid_values(field)}") from None


def _parsed(field: dataclasses.Field, value: Any) -> Any:
    if field.metadata["parse"] is not None:
        return field.metadata["parse"](value)
    if field.metadata["choices"] and value not in field.metadata["choices"]:
        raise ValueError(value)
    if kind(field) is bool and not isinstance(value, bool):
        if str(value).lower() not in TRUE + FALSE:
            raise ValueError(value)
        return str(value).lower() in TRUE
    return kind(field)(value)


def shown(value: Any) -> str:
    """A knob's value as its option takes it: on/off for a flag, 10 rather than 10.0 (header and README)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def meaning(field: dataclasses.Field) -> str:
    """The knob's help, with its valid values when they need words of their own (``pytest --help``, README)."""
    return field.metadata["help"] + (f": {field.metadata['valid']}" if field.metadata["valid"] else "")


def options_table() -> str:
    """The README's options table, generated from the knobs (``python -m conformance.config``; a test
    keeps the README in sync), then the knobs load mode takes under the same names."""
    from conformance.gate import GateOptions
    from conformance.load import LOAD_KNOBS

    rows = ["| Option | Ini key | Default | Meaning |", "|---|---|---|---|"]
    for field in knobs() + knobs(GateOptions):
        rows.append(f"| `--connector-{option_name(field)}` | `connector_{field.name}` | {shown(field.default)} "
                    f"| {meaning(field).replace('|', '/')} |")
    load = ", ".join(f"`--connector-{name.replace('_', '-')}`" for name in LOAD_KNOBS)
    return "\n".join(rows) + f"\n\nLoad mode (`python -m conformance.load`) takes {load} under the same names.\n"


def fuzz_seed(config: ConformanceConfig) -> int:
    """The seed META-FUZZ uses: the explicit one, else the profile's fixed one, else a fresh one.

    The pytest plugin calls this once per session, so its header shows the seed that reproduces a run."""
    fixed = FUZZ_PROFILES[config.fuzz_profile].fixed_seed
    return config.fuzz_seed or fixed or random.SystemRandom().randrange(1, 2**32)


if __name__ == "__main__":
    print(options_table(), end="")
