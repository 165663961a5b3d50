"""What a contract clause is, how it is registered, and how it says "fail" or "not applicable".

Clause functions live in ``conformance/clauses/<family>.py``; each is decorated with :func:`clause`,
which records a stable ID, the platform fact it protects and its level. The registry is the single
source the pytest plugin, the subclass style and the README catalogue read from.
"""

from __future__ import annotations

import enum
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance.facts import FACTS

if TYPE_CHECKING:
    from conformance.run import ClauseRun


class Level(str, enum.Enum):
    """MUST: the platform breaks. SHOULD: a hazard worth fixing, not yet a broken task."""

    MUST = "MUST"
    SHOULD = "SHOULD"


class Needs(enum.IntEnum):
    """What must work before a clause can say anything, in the order a probe tries it once per connector.

    A clause declares the most it needs; when the probe finds a step broken, the clauses that need it are
    BLOCKED naming the cause, which is reported once, instead of each failing with its own consequence.
    """

    CONNECTOR = 0
    """An instance from the factory (every clause)."""
    CREATE = 1
    """create() returns, called directly with the configured task."""
    META = 2
    """...and returns a meta that has encode()."""
    CREATE_TASK = 3
    """CreateTask through the connector service answers a meta."""
    LIFECYCLE = 4
    """CreateTask, GetTask and polling reach a terminal phase through the service."""


ClauseFunc = Callable[["ClauseRun"], None]


@dataclass(frozen=True)
class Clause:
    id: str
    fact: str
    level: Level
    func: ClauseFunc
    needs: Needs = Needs.CONNECTOR
    steers_backend: bool = False
    """Skipped without a bound fake backend, whatever the setup: the probe leaves it to say so."""

    @property
    def summary(self) -> str:
        """The docstring's first line: what is checked, with its fact."""
        return (self.func.__doc__ or "").strip().splitlines()[0]

    @property
    def family(self) -> str:
        return self.func.__module__.rsplit(".", 1)[-1]


_REGISTRY: dict[str, Clause] = {}


def clause(clause_id: str, *, fact: str, level: Level = Level.MUST, needs: Needs = Needs.CONNECTOR,
           steers_backend: bool = False) -> Callable[[ClauseFunc], ClauseFunc]:
    """Register a clause under a stable ID; a duplicate ID is a programming error caught at import."""

    def register(func: ClauseFunc) -> ClauseFunc:
        existing = _REGISTRY.get(clause_id)
        if existing is not None and _origin(existing.func) != _origin(func):  # a re-import may re-register
            raise ValueError(f"duplicate clause id {clause_id}")
        if fact not in FACTS:
            raise ValueError(f"clause {clause_id}: cites {fact}, which is not in conformance/facts.py")
        if fact not in (func.__doc__ or ""):
            raise ValueError(f"clause {clause_id}: docstring must cite its fact {fact}")
        _REGISTRY[clause_id] = Clause(clause_id, fact, level, func, needs, steers_backend)
        return func

    return register


def _origin(func: ClauseFunc) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def all_clauses() -> list[Clause]:
    """Every clause, in catalogue order (family modules import in a fixed order)."""
    import conformance.clauses  # noqa: F401  (registers the clauses)

    return list(_REGISTRY.values())


class ClauseFailure(AssertionError):
    """A broken clause, phrased for the connector author: what, why it matters, how to fix."""

    def __init__(self, *, expected: str, observed: str, consequence: str, fix: str):
        self.expected = expected
        self.observed = observed
        self.consequence = consequence
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        parts = [("expected", self.expected), ("observed", self.observed),
                 ("consequence", self.consequence), ("fix", self.fix)]
        return "\n".join(_field(name, text) for name, text in parts)


def _field(name: str, text: str) -> str:
    body = textwrap.indent(text.strip(), " " * 15).lstrip()
    return f"  {name + ':':<13}{body}"


class ClauseSkip(Exception):
    """The clause does not apply (a capability not declared, a scenario the setup cannot produce)."""
