"""The clause catalogue, generated from the registry so the docs cannot drift from the declarations.

    python -m conformance.catalogue         # the table the README embeds
    python -m conformance.catalogue docs    # docs/clauses.md: every clause's needs, consequence and fix
    python -m conformance.catalogue write   # rewrite both in a checkout, after adding or changing a clause

Everything here is read from ``@clause(...)`` declarations: adding a clause adds its row and its entry.
Tests keep the README table and docs/clauses.md in sync.
"""

from __future__ import annotations

import re
import sys
from itertools import groupby
from pathlib import Path

from conformance.clause import Clause, Needs, all_clauses
from conformance.facts import FACTS

NEEDS = {
    Needs.CONNECTOR: ("an instance", "the factory builds the connector"),
    Needs.CREATE: ("create()", "create() returns, called directly with the configured task"),
    Needs.META: ("a meta", "what create() returns has encode()"),
    Needs.CREATE_TASK: ("CreateTask", "CreateTask through the connector service answers a meta"),
    Needs.LIFECYCLE: ("a lifecycle", "CreateTask, GetTask and polling reach a terminal phase through the service"),
}
"""Each setup step (``Needs``) as the catalogue names and explains it; the probe tries them in this order."""
BACKEND = "a fake backend"
TABLE_HEADER = "| ID | Level | Fact | What it checks |"
"""How the README's table starts; it ends at the next blank line."""


def requirements(clause: Clause) -> str:
    """What must work before the clause can say anything: its setup step, and a bound fake if it steers one."""
    return NEEDS[clause.needs][0] + (f", {BACKEND}" if clause.steers_backend else "")


def markdown_table() -> str:
    """The README's table: one row per clause, in catalogue order."""
    rows = ["| ID | Level | Fact | What it checks | Needs |", "|---|---|---|---|---|"]
    rows += [f"| `{c.id}` | {c.level.value} | {c.fact} | {c.summary} | {requirements(c)} |" for c in all_clauses()]
    return "\n".join(rows)


def markdown_document() -> str:
    """docs/clauses.md: per family, each clause's declaration in full."""
    needs = "; ".join(f"*{label}*: {meaning}" for label, meaning in NEEDS.values())
    parts = ["# Clause catalogue", "",
             "Every clause as it is declared in `conformance/clauses/` (generated: `python -m conformance.catalogue "
             "docs`). A failure reads expected / observed / consequence / fix: the clause observes the first two; "
             "the consequence and fix below are what it declares. Where a clause can fail in more than one way, "
             "each other kind has its own consequence (and fix).", "",
             f"**Needs**, what must work before a clause can say anything, tried once per connector by the setup "
             f"probe in this order: {needs}. A clause that needs {BACKEND} is skipped without one."]
    for family, clauses in groupby(all_clauses(), key=lambda c: c.family):
        parts += ["", f"## {family}"]
        for clause in clauses:
            parts += ["", *_entry(clause)]
    return "\n".join(parts + ["", *_shared()]) + "\n"


def _shared() -> list[str]:
    """The explanations every clause shares: a call it needed did not answer, a lifecycle ran over budget."""
    from conformance.run import CALL_FAILURES

    lines = ["## Any clause", "",
             "A call into the connector that a clause needed an answer from, and that did not give one, fails the "
             "clause with what the call did; a lifecycle that runs over `--connector-budget` fails it as "
             "`PHASE-TERMINATES` declares.", ""]
    return lines + [f"- **If a call {how}**: {prose.consequence} Fix: {prose.fix}"
                    for how, prose in CALL_FAILURES.items()]


def _entry(clause: Clause) -> list[str]:
    fact = FACTS[clause.fact]
    lines = [f"### `{clause.id}`", "",
             f"{clause.level.value}, [{clause.fact}](platform-facts.md#{_anchor(f'{fact.id} ({fact.topic})')}). "
             f"{clause.summary}", "",
             f"- **Needs**: {requirements(clause)}",
             f"- **Consequence**: {clause.consequence}",
             f"- **Fix**: {clause.fix}"]
    for kind in clause.kinds:
        prose = clause.prose(kind)
        lines.append(f"- **If {kind}**: {prose.consequence}"
                     + (f" Fix: {prose.fix}" if prose.fix != clause.fix else ""))
    return lines


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def write(root: Path) -> list[Path]:
    """Rewrite the README's table and docs/clauses.md under ``root`` (a checkout); the files that changed."""
    readme, doc = root / "README.md", root / "docs" / "clauses.md"
    text = readme.read_text()
    start = text.index(TABLE_HEADER)
    end = text.index("\n\n", start)
    wanted = {readme: text[:start] + markdown_table() + text[end:], doc: markdown_document()}
    changed = [path for path, content in wanted.items() if not path.exists() or path.read_text() != content]
    for path in changed:
        path.write_text(wanted[path])
    return changed


if __name__ == "__main__":
    command = sys.argv[1:]
    if command == ["write"]:
        print("\n".join(str(path) for path in write(Path(__file__).resolve().parent.parent)) or "up to date")
    else:
        print(markdown_document() if command == ["docs"] else markdown_table(), end="" if command else "\n")
