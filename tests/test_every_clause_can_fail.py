"""A check that cannot fail is a defect: every clause is the target of some broken connector."""

from __future__ import annotations

import importlib
from pathlib import Path

from conformance.clause import all_clauses


def _targeted_clauses() -> set:
    targeted = set()
    for path in Path(__file__).parent.glob("test_broken_*.py"):
        module = importlib.import_module(path.stem)
        targeted |= {case[1] for case in module.CASES}
    return targeted


def test_every_clause_has_a_broken_connector_that_fails_it() -> None:
    missing = {c.id for c in all_clauses()} - _targeted_clauses()
    assert not missing, f"clauses no broken connector in tests/broken/ fails: {sorted(missing)}"
