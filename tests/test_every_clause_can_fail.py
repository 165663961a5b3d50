"""A check that cannot fail is a defect: every clause is the target of some broken connector.

Each broken connector declares the clause it breaks (tests/broken/__init__.py), and
tests/test_broken_connectors.py runs every declaration, asserting it fails exactly that clause.
"""

from __future__ import annotations

from broken import declarations

from conformance.clause import all_clauses


def test_every_clause_has_a_broken_connector_that_fails_it() -> None:
    missing = {c.id for c in all_clauses()} - {case.breaks for case in declarations()}
    assert not missing, f"clauses no broken connector in tests/broken/ fails: {sorted(missing)}"


def test_every_declaration_names_known_clauses() -> None:
    known = {c.id for c in all_clauses()}
    unknown = {(case.connector, clause) for case in declarations() for clause in {case.breaks} | case.cascade
               if clause not in known}
    assert not unknown, f"declared clauses that do not exist: {sorted(unknown)}"
