"""Deliberately broken connectors: each breaks exactly one clause, named in its docstring.

Most subclass the reference connector and change one behaviour, so every other clause still passes.
A broken connector declares what it breaks as class attributes, read by :func:`declarations`:

- ``breaks``: the clause it fails (required);
- ``cascade``: other clauses that unavoidably fail with it, each with a comment saying why (default: none);
- ``evidence``: texts its failure report must show;
- ``suite_args``: extra options for its suite run (default: none).

``tests/test_broken_connectors.py`` runs every declared connector and asserts it fails exactly
``{breaks} | cascade``; ``tests/test_every_clause_can_fail.py`` asserts every clause is declared broken.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import FrozenSet, List, Tuple

FAMILIES = ("structure", "metadata", "phases", "outputs", "deletion", "capabilities", "backend", "guards", "upgrade")
"""The modules declarations are read from. Not every module here: ``noisy_import`` prints and configures
logging at import, and the load-mode and bounded-time connectors break no clause. A clause whose only
broken connector lives in a module not listed is reported missing, so the list cannot silently shrink."""


@dataclass(frozen=True)
class Declaration:
    """What one broken connector says it breaks: the expectation its test checks."""

    connector: str
    breaks: str
    cascade: FrozenSet[str]
    evidence: Tuple[str, ...]
    suite_args: Tuple[str, ...]


def declarations() -> List[Declaration]:
    """Every class in FAMILIES that declares ``breaks`` itself (a subclass does not inherit its parent's)."""
    found = []
    for family in FAMILIES:
        module = importlib.import_module(f"{__name__}.{family}")
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == module.__name__ and "breaks" in vars(cls):
                found.append(_declaration(f"{module.__name__}.{name}", vars(cls)))
    return found


def _declaration(connector: str, attributes: dict) -> Declaration:
    return Declaration(connector, attributes["breaks"], frozenset(attributes.get("cascade", ())),
                       tuple(attributes["evidence"]), tuple(attributes.get("suite_args", ())))
