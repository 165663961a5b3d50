"""What a contract clause is, how it is registered, and how it says "fail" or "not applicable".

Clause functions live in ``conformance/clauses/<family>.py``; each is decorated with :func:`clause`,
which declares what the clause knows before it runs: a stable ID, the platform fact it protects, its
level, what it needs, and the consequence and fix of its failure (per failure kind where a clause can
fail in more than one way). The body then raises a :class:`ClauseFailure` with only what it expected
and observed; :meth:`Clause.check` completes it from the declaration. The registry is the single
source the pytest plugin, the subclass style, the probe and the catalogue read from.
"""

from __future__ import annotations

import enum
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
class Prose:
    """The static half of a failure message: what the platform does with the bug, and how to fix it."""

    consequence: str
    fix: str = ""
    """Empty in a clause's ``kinds``: that failure kind is fixed the way the clause's own ``fix`` says."""


@dataclass(frozen=True)
class Clause:
    id: str
    fact: str
    level: Level
    func: ClauseFunc
    needs: Needs = Needs.CONNECTOR
    steers_backend: bool = False
    """Skipped without a bound fake backend, whatever the setup: the probe leaves it to say so."""
    consequence: str = ""
    """What the platform does with a connector that fails this clause (the failure's default kind)."""
    fix: str = ""
    """How the connector author fixes it."""
    kinds: Mapping[str, Prose] = field(default_factory=dict, compare=False)
    """Other ways the clause can fail, whose consequence (and fix) differ: a body raises ``kind=<name>``."""

    def prose(self, kind: str = "") -> Prose:
        """The consequence and fix declared for a failure ``kind`` ("" is the clause's own)."""
        if not kind:
            return Prose(self.consequence, self.fix)
        if kind not in self.kinds:
            raise ValueError(f"clause {self.id} raised failure kind {kind!r}, which it does not declare "
                             f"(declared: {', '.join(self.kinds) or 'none'})")
        declared = self.kinds[kind]
        return Prose(declared.consequence, declared.fix or self.fix)

    def check(self, run: ClauseRun) -> None:
        """Run the clause body; a failure it raises leaves with the prose this clause declares for its kind.

        A failure that already carries its own prose (one the suite shares between clauses) is left as it is.
        """
        try:
            self.func(run)
        except ClauseFailure as failure:
            if failure.consequence:
                raise
            raise failure.explained(self.prose(failure.kind)) from None

    @property
    def summary(self) -> str:
        """The docstring's first line: what is checked, with its fact."""
        return (self.func.__doc__ or "").strip().splitlines()[0]

    @property
    def family(self) -> str:
        return self.func.__module__.rsplit(".", 1)[-1]


_REGISTRY: dict[str, Clause] = {}


def clause(clause_id: str, *, fact: str, level: Level = Level.MUST, needs: Needs = Needs.CONNECTOR,
           steers_backend: bool = False, consequence: str = "", fix: str = "", prose: Prose | None = None,
           kinds: Mapping[str, Prose] | None = None) -> Callable[[ClauseFunc], ClauseFunc]:
    """Register a clause under a stable ID, with what it declares; a mistake is caught at import.

    ``consequence`` and ``fix`` are the clause's own; ``prose`` gives both at once where several clauses
    share them. A duplicate ID, a fact not in conformance/facts.py, a docstring that does not cite the
    fact, or a missing consequence or fix is a ValueError: the catalogue shows them for every clause.
    """
    if prose is not None:
        consequence, fix = prose.consequence, prose.fix

    def register(func: ClauseFunc) -> ClauseFunc:
        existing = _REGISTRY.get(clause_id)
        if existing is not None and _origin(existing.func) != _origin(func):  # a re-import may re-register
            raise ValueError(f"duplicate clause id {clause_id}")
        if fact not in FACTS:
            raise ValueError(f"clause {clause_id}: cites {fact}, which is not in conformance/facts.py")
        if fact not in (func.__doc__ or ""):
            raise ValueError(f"clause {clause_id}: docstring must cite its fact {fact}")
        if not (consequence and fix) or not all(prose.consequence for prose in (kinds or {}).values()):
            raise ValueError(f"clause {clause_id}: declare the consequence and fix of its failures")
        _REGISTRY[clause_id] = Clause(clause_id, fact, level, func, needs, steers_backend, consequence, fix,
                                      dict(kinds or {}))
        return func

    return register


def _origin(func: ClauseFunc) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def all_clauses() -> list[Clause]:
    """Every clause, in catalogue order (family modules import in a fixed order)."""
    import conformance.clauses  # noqa: F401  (registers the clauses)

    return list(_REGISTRY.values())


def clause_by_id(clause_id: str) -> Clause:
    """The registered clause with this ID: a failure found outside its body (by the runner or the setup
    probe) that is this clause's failure takes the consequence and fix the clause declares."""
    import conformance.clauses  # noqa: F401  (registers the clauses)

    return _REGISTRY[clause_id]


class ClauseFailure(AssertionError):
    """A broken clause, phrased for the connector author: what was expected, what was observed, why it
    matters and how to fix it.

    A clause body gives only ``expected`` and ``observed`` (and ``kind`` where its declaration names
    several); the consequence and fix come from the declaration (:meth:`Clause.check`). Failures the
    suite shares between clauses (a call that raised, a lifecycle over budget) carry their own.
    """

    def __init__(self, *, expected: str, observed: str, consequence: str = "", fix: str = "", kind: str = ""):
        self.expected = expected
        self.observed = observed
        self.consequence = consequence
        self.fix = fix
        self.kind = kind
        super().__init__(self.render())

    def __reduce__(self) -> tuple[Any, ...]:
        """Keyword-only fields: pickle (the connector host's pipe) rebuilds the failure from them."""
        return _rebuilt, (self.expected, self.observed, self.consequence, self.fix, self.kind)

    def explained(self, prose: Prose) -> ClauseFailure:
        """This failure, with ``prose`` as its consequence and fix."""
        return ClauseFailure(expected=self.expected, observed=self.observed, consequence=prose.consequence,
                             fix=prose.fix, kind=self.kind)

    @property
    def cause(self) -> str:
        """One line for summaries: the first line of what was observed."""
        return self.observed.strip().partition("\n")[0]

    def render(self) -> str:
        parts = [("expected", self.expected), ("observed", self.observed),
                 ("consequence", self.consequence), ("fix", self.fix)]
        return "\n".join(_field(name, text) for name, text in parts if text)


def _rebuilt(expected: str, observed: str, consequence: str, fix: str, kind: str) -> ClauseFailure:
    return ClauseFailure(expected=expected, observed=observed, consequence=consequence, fix=fix, kind=kind)


def _field(name: str, text: str) -> str:
    body = textwrap.indent(text.strip(), " " * 15).lstrip()
    return f"  {name + ':':<13}{body}"


class ClauseSkip(Exception):
    """The clause does not apply (a capability not declared, a scenario the setup cannot produce)."""
