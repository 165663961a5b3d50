"""What the guards saw, kept per connector for the guard clauses to judge: every clause is watched.

Every clause runs under :class:`~conformance.guards.active.ActiveGuards`, and what the guards see during
it (a stall, a blocking call on the loop, a refused connection, a canary in a Resource, a log or an
exception, a decode that unpickles) becomes a :class:`Sighting` tagged with that clause's ID, in the
:class:`Ledger` of that connector in this service runtime (one per session and process). The guard clause
judges the ledger, so a stall in a fault clause fails LOOP-BLOCKING and names the fault clause.

Deterministic under ``pytest -n N`` as well: a guard clause may run in another worker than the clause
that saw something, or before it, so the first guard clause of a connector in each process first *tours*
the suite itself (``conformance/clauses/guards.py``): it runs every clause that drives the connector, with
the guards recording and verdicts discarded. Whatever worker and order, the ledger then holds the
evidence of every path the suite exercises, and sightings from this process's own clause runs add to it.
A stall the watchdog saw only once is a note, not a finding: the first call in a process pays one-off
costs (a TLS context, a lazy import in C); a blocking call or a stall on a path the suite takes is seen
again, by the tour if not before.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

SHOWN_PLACES = 4


@dataclass(frozen=True)
class Sighting:
    """``what`` one guard saw at ``site`` (a line, a destination) while clause ``where`` ran."""

    guard: str
    where: str
    site: str
    what: str
    once_is_noise: bool = False
    """Counted only when seen twice: a stall the watchdog saw once may be a first call's warm-up."""


class Ledger:
    """The sightings of one connector; ``toured`` once the guard tour ran in this process."""

    def __init__(self) -> None:
        self._sightings: list[Sighting] = []
        self._lock = threading.Lock()
        self.toured = False
        self.tour_cut = ""
        """Why the guard tour stopped early, if it did: the verdicts then cover part of the suite."""
        self.decoded = 0
        """decode() calls watched: META-NO-PICKLE's evidence that there was something to check."""
        self.watched: set[str] = set()
        """Clauses that ran under the guards in this process: the guard tour need not run them again."""

    def add(self, sightings: Iterable[Sighting]) -> None:
        with self._lock:
            self._sightings.extend(sightings)

    def findings(self, guard: str, also: Iterable[Sighting] = (), one_offs: bool = False) -> list[str]:
        """One line per site the guard saw (here and in ``also``): the first text, and the clauses it was seen in.

        With ``one_offs``, the sites seen only once whose sightings may be noise, instead of the firm ones.
        """
        seen: dict[str, list[Sighting]] = {}
        with self._lock:
            for sighting in [*self._sightings, *also]:
                if sighting.guard == guard:
                    seen.setdefault(sighting.site, []).append(sighting)
        lines = []
        for sightings in seen.values():
            if one_offs == (len(sightings) == 1 and sightings[0].once_is_noise):
                wheres = list(dict.fromkeys(s.where for s in sightings))
                lines.append(f"{sightings[0].what} (seen in {_places(wheres)})")
        return lines


def _places(wheres: list[str]) -> str:
    more = len(wheres) - SHOWN_PLACES
    return ", ".join(wheres[:SHOWN_PLACES]) + (f" and {more} more" if more > 0 else "")


_LEDGERS: weakref.WeakKeyDictionary[object, dict[str, Ledger]] = weakref.WeakKeyDictionary()
_LEDGERS_LOCK = threading.Lock()


def ledger_for(owner: object, connector: str) -> Ledger:
    """The ledger of ``connector`` for ``owner`` (the service runtime's loop watch: one per session)."""
    with _LEDGERS_LOCK:
        return _LEDGERS.setdefault(owner, {}).setdefault(connector, Ledger())
