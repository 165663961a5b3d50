"""The connector x clause table: in the terminal, as JSON for tools, as Markdown for a PR comment.

Rows are built from pytest's test reports (their ``user_properties``), not from in-process state,
so the table is the same under ``pytest -n auto``, where clauses run in worker processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from conformance.gate import Status

LOAD = "LOAD"
"""The clause column of a connector's load check (``test_connector_loads``)."""


@dataclass(frozen=True)
class Row:
    connector: str
    clause: str
    level: str
    fact: str
    status: Status
    detail: str = ""
    notes: str = ""
    """What a clause wants the author to know even when it passes (one per line)."""


def row_from(properties: dict[str, str], outcome: str, longrepr: str) -> Row | None:
    """One table row from a test report, or None for tests that are not conformance checks."""
    if "clause" not in properties:
        return None
    status = Status(properties["status"]) if "status" in properties else _status_of(outcome)
    detail = properties.get("detail") or (longrepr if status.fails_run or status is Status.SKIP else "")
    return Row(properties["connector"], properties["clause"], properties.get("level", "-"),
               properties.get("fact", "-"), status, detail.strip(), properties.get("notes", ""))


def _status_of(outcome: str) -> Status:
    """For reports that never reached the gate (setup errors, load checks): pytest's outcome."""
    return {"passed": Status.PASS, "skipped": Status.SKIP}.get(outcome, Status.FAIL)


def failed(rows: Iterable[Row]) -> bool:
    return any(row.status.fails_run for row in rows)


def _grid(rows: Sequence[Row]) -> tuple:
    """(connectors, [(clause, level)], {(connector, clause): row}) in first-seen order."""
    connectors = list(dict.fromkeys(row.connector for row in rows))
    clauses = list(dict.fromkeys((row.clause, row.level) for row in rows))
    return connectors, clauses, {(row.connector, row.clause): row for row in rows}


def _remarks(rows: Sequence[Row]) -> list[str]:
    """One line per cell whose status needs a reason (skips, waivers, warnings, stale waivers, harness errors,
    load failures), one per blocking cause, and one per note."""
    explained = (Status.SKIP, Status.WAIVED, Status.WARN, Status.STALE, Status.ERROR)
    lines = [f"{row.connector} {row.clause} {row.status.value}: {_gist(row.detail)}" for row in rows
             if row.status in explained or (row.clause == LOAD and row.status.fails_run)]
    blocked = _grouped((row.connector, _gist(row.detail), row.clause) for row in rows if row.status is Status.BLOCKED)
    lines += [f"{connector} BLOCKED ({len(clauses)} clauses): {cause}"
              for (connector, cause), clauses in blocked.items()]
    notes = _grouped((row.connector, note, row.clause) for row in rows for note in row.notes.splitlines())
    return lines + [f"{connector} {clauses[0] if len(clauses) == 1 else f'({len(clauses)} clauses)'} note: {note}"
                    for (connector, note), clauses in notes.items()]


def _grouped(triples: Iterable[tuple]) -> dict[tuple, list[str]]:
    """(connector, text) -> the clauses that said it, in first-seen order: one line per cause, not per clause."""
    groups: dict[tuple, list[str]] = {}
    for connector, text, clause in triples:
        groups.setdefault((connector, text), []).append(clause)
    return groups


def _gist(text: str) -> str:
    """The first line, plus a clause failure's ``observed:`` line, which says what actually went wrong."""
    lines = [line.strip() for line in text.strip().splitlines()]
    observed = [line for line in lines if line.startswith("observed:")]
    return "; ".join(lines[:1] + observed[:1])


def totals(rows: Iterable[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status.value] = counts.get(row.status.value, 0) + 1
    return counts


def _totals_text(rows: Iterable[Row]) -> str:
    return ", ".join(f"{count} {status}" for status, count in totals(rows).items())


def terminal_lines(rows: Sequence[Row], fail_on: str) -> list[str]:
    connectors, clauses, cells = _grid(rows)
    width = max(len(clause) for clause, _ in clauses)
    widths = [max(len(name), 6) for name in connectors]
    lines = [f"{'clause':<{width}}  level   " + "  ".join(f"{n:<{w}}" for n, w in zip(connectors, widths))]
    for clause, level in clauses:
        marks = [_cell(cells, name, clause) for name in connectors]
        lines.append(f"{clause:<{width}}  {level:<6}  " + "  ".join(f"{m:<{w}}" for m, w in zip(marks, widths)))
    lines += _remarks(rows)
    lines.append(f"fail on: {fail_on}; {_totals_text(rows)}")
    return lines


def _cell(cells: dict[tuple, Row], connector: str, clause: str) -> str:
    row = cells.get((connector, clause))
    return row.status.value if row else "-"


def markdown(rows: Sequence[Row], fail_on: str) -> str:
    """A PR comment: verdict, the grid, then every reason and failure in collapsible blocks."""
    connectors, clauses, cells = _grid(rows)
    verdict = "❌ failed" if failed(rows) else "✅ passed"
    parts = [f"## Connector conformance: {verdict}", "",
             f"Fail on: {fail_on}. {_totals_text(rows)}", "",
             "| Clause | Level | " + " | ".join(connectors) + " |",
             "|---|---|" + "---|" * len(connectors)]
    parts += [f"| `{clause}` | {level} | " + " | ".join(_cell(cells, n, clause) for n in connectors) + " |"
              for clause, level in clauses]
    remarks = _remarks(rows)
    if remarks:
        parts += ["", "<details><summary>Skips, blocked clauses, waivers, warnings and notes</summary>", ""]
        parts += [f"- {line}" for line in remarks] + ["", "</details>"]
    for row in rows:
        if row.status.fails_run:
            parts += ["", f"<details><summary>{row.status.value}: {row.connector} {row.clause}</summary>", "",
                      "```", row.detail, "```", "", "</details>"]
    return "\n".join(parts) + "\n"


def write(stem: str, rows: Sequence[Row], fail_on: str) -> list[Path]:
    """``<stem>.json`` and ``<stem>.md``; returns both paths."""
    base = Path(stem)
    base.parent.mkdir(parents=True, exist_ok=True)
    document = {"passed": not failed(rows), "fail_on": fail_on, "totals": totals(rows),
                "results": [dict(asdict(row), status=row.status.value) for row in rows]}
    paths = [base.with_name(base.name + ".json"), base.with_name(base.name + ".md")]
    paths[0].write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(rows, fail_on), encoding="utf-8")
    return paths
