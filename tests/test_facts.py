"""The platform facts live in the repo, every clause cites one of them, and the doc is generated."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.clause import Level, clause
from conformance.facts import FACTS, markdown

DOC = Path(__file__).parent.parent / "docs" / "platform-facts.md"


def test_the_facts_document_is_generated_from_the_data() -> None:
    assert DOC.read_text() == markdown(), "run: python -m conformance.facts > docs/platform-facts.md"


def test_every_fact_has_a_statement_and_a_source() -> None:
    for fact in FACTS.values():
        assert fact.statement and fact.sources, fact.id


def test_every_documented_fact_is_cited_by_the_code() -> None:
    """A fact no clause and no failure text relies on is not a fact the project protects."""
    sources = "".join(path.read_text() for path in Path(__file__).parent.parent.joinpath("conformance").rglob("*.py")
                      if path.name != "facts.py")
    assert [fact for fact in FACTS if fact not in sources] == []


def test_a_clause_citing_an_unknown_fact_fails_at_import() -> None:
    with pytest.raises(ValueError, match="cites F-NOPE-1, which is not in conformance/facts.py"):
        clause("TEST-UNKNOWN-FACT", fact="F-NOPE-1", level=Level.MUST)(lambda run: None)
