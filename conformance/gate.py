"""The CI gate's verdict per clause: which results fail the run, given levels and waivers.

A gate must be adoptable gradually: SHOULD failures are reported without failing the run unless
strict mode asks for them (``--connector-fail-on=MUST,SHOULD``), known failures can be waived with a
reason, and a waiver whose clause now passes fails the run so the baseline only ever shrinks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from conformance.clause import Level
from conformance.config import knob


class Status(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"
    WAIVED = "WAIVED"
    """Failed, with a waiver: reported, does not fail the run."""
    WARN = "WARN"
    """Failed at a level --connector-fail-on does not select: reported, does not fail the run."""
    STALE = "STALE"
    """Passed although waived: fails the run until the waiver is removed."""
    BLOCKED = "BLOCKED"
    """Not run: a setup failure it depends on is reported once, by another clause (named in the detail)."""
    ERROR = "ERROR"
    """The suite itself failed (a harness error, not the connector's): no verdict, so the run fails."""
    CRASHED = "CRASHED"
    """The process running the connector's code died or stopped answering while this clause was in flight."""
    NOT_RUN = "NOT RUN"
    """Selected but never reported (a crashed worker, the run's time budget, an interrupted run): no verdict."""

    @property
    def fails_run(self) -> bool:
        return self in (Status.FAIL, Status.STALE, Status.ERROR, Status.CRASHED, Status.NOT_RUN)


ALL_LEVELS = frozenset(Level)
NONE = "none"
DEFAULT_FAIL_ON = "MUST"
VALID_FAIL_ON = (f"MUST (the default), MUST,SHOULD (strict; SHOULD alone means the same, since MUST always "
                 f"gates) or {NONE} (report only)")


def parse_fail_on(value: str) -> frozenset[Level]:
    """The levels that fail the run. MUST always does, unless ``none``: a SHOULD gate that let MUST
    failures through would pass connectors the platform cannot run. Anything else is a ValueError."""
    names = [part.strip().upper() for part in value.split(",") if part.strip()]
    if names == [NONE.upper()]:
        return frozenset()
    if not names or any(name not in Level.__members__ for name in names):
        raise ValueError(f"--connector-fail-on: {value!r} is not a valid value; use {VALID_FAIL_ON}")
    return frozenset({Level.MUST} | {Level[name] for name in names})


def fail_on_text(fail_on: frozenset[Level]) -> str:
    """How the table names the levels that fail the run: ``MUST``, ``MUST,SHOULD`` or ``none``."""
    return ",".join(level.value for level in Level if level in fail_on) or NONE


def decide(outcome: str, level: Level, waiver: str | None, fail_on: frozenset[Level]) -> Status:
    """The gate status of one clause result (a run.Outcome value)."""
    if outcome in (Status.SKIP.value, Status.BLOCKED.value, Status.ERROR.value, Status.CRASHED.value,
                   Status.NOT_RUN.value):
        return Status(outcome)
    if outcome == "PASS":
        return Status.STALE if waiver else Status.PASS
    if waiver:
        return Status.WAIVED
    return Status.FAIL if level in fail_on else Status.WARN


@dataclass(frozen=True)
class GateOptions:
    """The gate's options (pytest only), declared like ConformanceConfig's knobs: the same ``--connector-*``
    and ini naming, parsing and usage errors (``conformance.config.knobs(GateOptions)``)."""

    fail_on: frozenset[Level] = knob(DEFAULT_FAIL_ON, "levels whose failures fail the run", parse=parse_fail_on,
                                     valid=VALID_FAIL_ON, header=True)
    report: str = knob("", "write the connector x clause table to PATH.json and PATH.md (Markdown for a PR comment)")
