"""The clause catalogue as Markdown, generated from the registry so the README cannot drift.

    python -m conformance.catalogue   # prints the table the README embeds
"""

from __future__ import annotations

from conformance.clause import all_clauses


def markdown_table() -> str:
    rows = ["| ID | Level | Fact | What it checks |", "|---|---|---|---|"]
    rows += [f"| `{c.id}` | {c.level.value} | {c.fact} | {c.summary} |" for c in all_clauses()]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
