"""Clauses are declarations: what a failure means and how to fix it is data on the clause, shown in the docs."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from conformance.catalogue import TABLE_HEADER, markdown_document, markdown_table, write
from conformance.clause import Clause, ClauseFailure, Level, Prose, all_clauses, clause

DOC = Path(__file__).resolve().parent.parent / "docs" / "clauses.md"


def test_the_clause_document_is_generated_from_the_declarations() -> None:
    assert DOC.read_text() == markdown_document(), "run: python -m conformance.catalogue write"


def test_write_rewrites_the_readme_table_and_the_clause_document(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n\n{TABLE_HEADER} Needs |\n| `OLD-CLAUSE` |\n\nafter\n")
    assert write(tmp_path) == [readme, tmp_path / "docs" / "clauses.md"]
    assert readme.read_text() == f"intro\n\n{markdown_table()}\n\nafter\n"
    assert write(tmp_path) == []


def test_every_clause_declares_a_consequence_and_fix_for_each_way_it_fails() -> None:
    for declared in all_clauses():
        assert declared.consequence and declared.fix, declared.id
        assert all(declared.prose(kind).consequence and declared.prose(kind).fix for kind in declared.kinds)


def test_a_clause_without_consequence_or_fix_fails_at_import() -> None:
    def body(run: object) -> None:
        """Checks nothing (API)."""

    with pytest.raises(ValueError, match="declare the consequence and fix"):
        clause("TEST-NO-PROSE", fact="API", level=Level.MUST, consequence="it breaks")(body)


def _clause(body, **kinds: Prose) -> Clause:
    return Clause("TEST-KINDS", "API", Level.MUST, body, consequence="the default", fix="the fix", kinds=kinds)


def _failure_of(declared: Clause) -> ClauseFailure:
    with pytest.raises(ClauseFailure) as raised:
        declared.check(None)  # type: ignore[arg-type]  # the bodies here use no run
    return raised.value


def test_a_body_says_what_it_observed_and_the_declaration_says_the_rest() -> None:
    def body(run: object) -> None:
        raise ClauseFailure(expected="x", observed="y\nmore")

    failure = _failure_of(_clause(body))
    assert (failure.consequence, failure.fix, failure.cause) == ("the default", "the fix", "y")
    assert failure.render().splitlines()[-2:] == ["  consequence: the default", "  fix:         the fix"]


def test_a_failure_kind_takes_its_own_consequence_and_the_clause_fix_unless_it_declares_one() -> None:
    def body(run: object) -> None:
        raise ClauseFailure(expected="x", observed="y", kind="odd")

    failure = _failure_of(_clause(body, odd=Prose("an odd consequence")))
    assert (failure.consequence, failure.fix) == ("an odd consequence", "the fix")
    failure = _failure_of(_clause(body, odd=Prose("an odd consequence", "an odd fix")))
    assert failure.fix == "an odd fix"


def test_an_undeclared_failure_kind_is_a_bug_of_the_suite_not_a_failure() -> None:
    def body(run: object) -> None:
        raise ClauseFailure(expected="x", observed="y", kind="typo")

    with pytest.raises(ValueError, match="failure kind 'typo', which it does not declare"):
        _clause(body).check(None)  # type: ignore[arg-type]


def test_a_failure_crosses_a_process_boundary_whole() -> None:
    failure = ClauseFailure(expected="x", observed="y", consequence="c", fix="f", kind="k")
    copy = pickle.loads(pickle.dumps(failure))
    assert (copy.render(), copy.kind) == (failure.render(), "k")
