"""The CI gate's verdict per clause: which results fail the run, given levels and waivers.

A gate must be adoptable gradually: SHOULD clauses can be reported without failing the run, known
failures can be waived with a reason, and a waiver whose clause now passes fails the run so the
baseline only ever shrinks.
"""

from __future__ import annotations

import enum
from typing import FrozenSet, Optional

from conformance.clause import Level


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

    @property
    def fails_run(self) -> bool:
        return self in (Status.FAIL, Status.STALE)


ALL_LEVELS = frozenset(Level)
NONE = "none"


def parse_fail_on(value: str) -> FrozenSet[Level]:
    """``MUST``, ``MUST,SHOULD`` or ``none`` (report only); anything else is a ValueError."""
    names = [part.strip().upper() for part in value.split(",") if part.strip()]
    if names == [NONE.upper()]:
        return frozenset()
    unknown = [name for name in names if name not in Level.__members__]
    if unknown or not names:
        raise ValueError(f"--connector-fail-on: {value!r} is not a comma-separated list of MUST, SHOULD "
                         f"(or '{NONE}')")
    return frozenset(Level[name] for name in names)


def decide(outcome: str, level: Level, waiver: Optional[str], fail_on: FrozenSet[Level]) -> Status:
    """The gate status of one clause result (outcome ``PASS``, ``FAIL`` or ``SKIP``)."""
    if outcome == "SKIP":
        return Status.SKIP
    if outcome == "PASS":
        return Status.STALE if waiver else Status.PASS
    if waiver:
        return Status.WAIVED
    return Status.FAIL if level in fail_on else Status.WARN
