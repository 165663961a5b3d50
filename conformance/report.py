"""The connector x clause table: in the terminal, as JSON for tools, as Markdown for a PR comment.

Rows are built from pytest's test reports (their ``user_properties``), not from in-process state,
so the table is the same under ``pytest -n auto``, where clauses run in worker processes. Identical
causes are told once, listing what they hit, so ``--connector=all`` over many plugins stays readable,
and the Markdown always fits a GitHub comment (the JSON keeps everything).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.gate import Status

LOAD = "LOAD"
"""The clause column of a connector's load check (``test_connector_loads``)."""
COMMENT_LIMIT = 65_536
"""Characters a GitHub comment (and a step summary) holds; the Markdown report stays under it."""
_MEMBERS_SHOWN = 12
"""Connector/clause pairs a grouped cause lists before saying how many more it hit."""


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
    cause: str = ""
    """One line saying what went wrong (the clause's ``cause`` property); else read from the detail."""
    test: str = ""
    """The pytest node id, to rerun this cell alone."""


@dataclass(frozen=True)
class Progress:
    """How far the run got: a report written while it runs says it is incomplete and names what is in flight,
    so a process that dies leaves a report that cannot be mistaken for a whole one."""

    complete: bool
    reported: int
    selected: int
    in_flight: tuple[str, ...] = ()

    def text(self) -> str:
        if self.complete:
            return f"complete: {self.selected} of {self.selected} rows"
        flight = ", ".join(self.in_flight) or "none"
        return f"incomplete: {self.reported} of {self.selected} rows reported so far; in flight: {flight}"


def whole(rows: Sequence[Row]) -> Progress:
    """The progress of a finished run: every row reported."""
    return Progress(True, len(rows), len(rows))


def row_from(properties: dict[str, str], outcome: str, longrepr: str, test: str = "") -> Row | None:
    """One table row from a test report, or None for tests that are not conformance checks."""
    if "clause" not in properties:
        return None
    status = Status(properties["status"]) if "status" in properties else _status_of(outcome, properties["clause"])
    detail = properties.get("detail") or (longrepr if status.fails_run or status is Status.SKIP else "")
    return Row(properties["connector"], properties["clause"], properties.get("level", "-"),
               properties.get("fact", "-"), status, detail.strip(), properties.get("notes", ""),
               properties.get("cause", ""), test)


def _status_of(outcome: str, clause: str) -> Status:
    """For reports that never reached the gate: pytest's outcome. A load check's failure is the spec's FAIL;
    a clause test that failed without a gate status raised inside the suite: an ERROR, no verdict."""
    failure = Status.FAIL if clause == LOAD else Status.ERROR
    return {"passed": Status.PASS, "skipped": Status.SKIP}.get(outcome, failure)


def failed(rows: Iterable[Row]) -> bool:
    return any(row.status.fails_run for row in rows)


def ordered(rows: Iterable[Row], connectors: Sequence[str], clauses: Sequence[str]) -> list[Row]:
    """Connectors in the order given, LOAD first, then clauses in catalogue order: the same table every run,
    whichever xdist worker finished first. Names not listed follow, in first-seen order."""
    rows = list(rows)
    connector_rank = {name: i for i, name in enumerate(dict.fromkeys([*connectors, *(r.connector for r in rows)]))}
    clause_rank = {name: i for i, name in enumerate(dict.fromkeys([LOAD, *clauses, *(r.clause for r in rows)]))}
    return sorted(rows, key=lambda row: (connector_rank[row.connector], clause_rank[row.clause]))


def _grid(rows: Sequence[Row]) -> tuple:
    """(connectors, [(clause, level)], {(connector, clause): row}) in first-seen order."""
    connectors = list(dict.fromkeys(row.connector for row in rows))
    clauses = list(dict.fromkeys((row.clause, row.level) for row in rows))
    return connectors, clauses, {(row.connector, row.clause): row for row in rows}


@functools.lru_cache(maxsize=4096)  # asked several times per row for each rewrite of the report
def cause_of(row: Row, generic: bool = True) -> str:
    """The row's one-line cause: the failure's own (the ``cause`` property), else read from the detail; for a
    waiver, what the gate says. ``generic`` writes its clause ID and connector name as ``<clause>`` and
    ``<connector>``, so one cause hitting many cells is one cause."""
    cause = row.cause if row.cause and row.status not in (Status.WAIVED, Status.STALE) else _gist(row.detail)
    if not generic or row.clause == LOAD:
        return cause
    return cause.replace(row.clause, "<clause>").replace(row.connector, "<connector>")


def _told(cause: str, hit: Sequence[Row]) -> str:
    """A cause as told: in its own words when it hit one cell, generic when it hit several."""
    return cause_of(hit[0], generic=False) if len(hit) == 1 else cause


def _gist(text: str) -> str:
    """What went wrong, in one line: a clause failure's ``observed:`` line (its first line is the clause's
    summary, the same for every cause), a traceback's exception line (``E   TypeError: ...``), not its first
    frame, else the first line."""
    lines = text.strip().splitlines()
    found = (next((line for line in lines if line.lstrip().startswith("observed:")), None)
             or next((line[2:] for line in lines if line.startswith("E ")), None) or (lines[0] if lines else ""))
    return " ".join(found.split())


def grouped(rows: Iterable[Row]) -> dict[tuple[Status, str], list[Row]]:
    """(status, cause) -> the rows it hit, in first-seen order: one entry per cause, however many cells."""
    groups: dict[tuple[Status, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.status, cause_of(row)), []).append(row)
    return groups


def members(rows: Sequence[Row], shown: int = _MEMBERS_SHOWN) -> str:
    """``Conn CLAUSE`` for one row; ``N cells: ConnA: X, Y; ConnB: Z`` (at most ``shown`` named) for more."""
    if len(rows) == 1:
        return f"{rows[0].connector} {rows[0].clause}"
    by_connector: dict[str, list[str]] = {}
    for row in rows[:shown]:
        by_connector.setdefault(row.connector, []).append(row.clause)
    listed = "; ".join(f"{connector}: {', '.join(clauses)}" for connector, clauses in by_connector.items())
    more = f"; and {len(rows) - shown} more" if len(rows) > shown else ""
    return f"{len(rows)} cells: {listed}{more}"


_EXPLAINED = (Status.SKIP, Status.BLOCKED, Status.WAIVED, Status.WARN)
"""Statuses that do not fail the run but need a reason beside the grid."""


def _cause_lines(rows: Iterable[Row]) -> list[str]:
    return [f"{members(hit)} {status.value}: {_told(cause, hit)}" for (status, cause), hit in grouped(rows).items()]


def _reasons(rows: Sequence[Row]) -> list[str]:
    """One line per cause of the cells that need a reason (skips, blocked clauses, waivers, warnings), one per
    note."""
    notes: dict[str, list[Row]] = {}
    for row in rows:
        for note in row.notes.splitlines():
            notes.setdefault(note, []).append(row)
    return (_cause_lines(row for row in rows if row.status in _EXPLAINED)
            + [f"{members(hit)} note: {note}" for note, hit in notes.items()])


def totals(rows: Iterable[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status.value] = counts.get(row.status.value, 0) + 1
    return counts


def _totals_text(rows: Iterable[Row]) -> str:
    return ", ".join(f"{count} {status}" for status, count in totals(rows).items())


GRID_WIDTH = 160
"""Widest grid the terminal shows; wider (``--connector=all`` over many plugins) gets a line per connector."""


def terminal_lines(rows: Sequence[Row], fail_on: str, extra: Sequence[str] = ()) -> list[str]:
    """The grid (or a line per connector when it would be too wide to read), one line per cause, any extra
    remarks (e.g. unused waivers), then the totals."""
    connectors, clauses, cells = _grid(rows)
    width = max(len(clause) for clause, _ in clauses)
    widths = [max(len(name), 7) for name in connectors]
    if width + 10 + sum(w + 2 for w in widths) > GRID_WIDTH:
        lines = [f"{name}: {_totals_text(row for row in rows if row.connector == name)}" for name in connectors]
    else:
        lines = [f"{'clause':<{width}}  level   " + "  ".join(f"{n:<{w}}" for n, w in zip(connectors, widths))]
        for clause, level in clauses:
            marks = [_cell(cells, name, clause) for name in connectors]
            lines.append(f"{clause:<{width}}  {level:<6}  " + "  ".join(f"{m:<{w}}" for m, w in zip(marks, widths)))
    lines += _reasons(rows) + _cause_lines(row for row in rows if row.status.fails_run) + list(extra)
    lines.append(f"fail on: {fail_on}; {_totals_text(rows)}")
    return lines


def _cell(cells: dict[tuple, Row], connector: str, clause: str) -> str:
    row = cells.get((connector, clause))
    return row.status.value if row else "-"


def markdown(rows: Sequence[Row], fail_on: str, progress: Progress | None = None, extra: Sequence[str] = (),
             full_report: str = "the JSON report", limit: int = COMMENT_LIMIT) -> str:
    """A PR comment: verdict, the grid, the reasons, then one collapsible block per failing cause. Always at
    most ``limit`` characters: details are shortened, then blocks dropped with a line naming ``full_report``."""
    head = _markdown_head(rows, fail_on, progress or whole(rows))
    for detail_limit in (4000, 1000, 300):
        blocks = _markdown_blocks(rows, extra, detail_limit)
        if len(head) + sum(map(len, blocks)) <= limit:
            return head + "".join(blocks)
    return _fit(head, blocks, full_report, limit)


def _markdown_head(rows: Sequence[Row], fail_on: str, progress: Progress) -> str:
    connectors, clauses, cells = _grid(rows)
    verdict = "❌ failed" if failed(rows) else "✅ passed"
    if not progress.complete:
        verdict = "⏳ incomplete" + (", failing so far" if failed(rows) else "")
    parts = [f"## Connector conformance: {verdict}", ""]
    if not progress.complete:
        parts += [f"**Report {progress.text()}** (rewritten as the run goes; a run that died leaves it so).", ""]
    parts += [f"Fail on: {fail_on}. {_totals_text(rows)}", "",
              "| Clause | Level | " + " | ".join(connectors) + " |", "|---|---|" + "---|" * len(connectors)]
    parts += [f"| `{clause}` | {level} | " + " | ".join(_cell(cells, n, clause) for n in connectors) + " |"
              for clause, level in clauses]
    return "\n".join(parts) + "\n"


def _markdown_blocks(rows: Sequence[Row], extra: Sequence[str], detail_limit: int) -> list[str]:
    """The reasons block, then one block per failing cause: the cells it hit and the first one's detail."""
    blocks = []
    reasons = _reasons(rows) + list(extra)
    if reasons:
        blocks.append("\n<details><summary>Skips, blocked clauses, waivers, warnings and notes</summary>\n\n"
                      + "".join(f"- {html.escape(line)}\n" for line in reasons) + "\n</details>\n")
    for (status, cause), hit in grouped(row for row in rows if row.status.fails_run).items():
        detail = _shortened(hit[0].detail, detail_limit)
        fence = "`" * max(3, _longest_backtick_run(detail) + 1)
        listed = "" if len(hit) == 1 else f"{members(hit, shown=200)}\n\n"
        blocks.append(f"\n<details><summary>{status.value}: {html.escape(members(hit))}</summary>\n\n"
                      f"{listed}cause: {html.escape(_told(cause, hit))}\n\n{fence}\n{detail}\n{fence}\n\n"
                      "</details>\n")
    return blocks


def _shortened(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters in the JSON report]"


def _longest_backtick_run(text: str) -> int:
    """The fence must be longer than any backtick run in the detail, or the detail would close it."""
    return max((len(run) for run in re.findall("`+", text)), default=0)


def _fit(head: str, blocks: Sequence[str], full_report: str, limit: int) -> str:
    """Keep the blocks that fit, in order, and say how many were left out and where they are."""
    room = limit - len(head) - 400
    kept = []
    for block in blocks:
        if len(block) > room:
            break
        kept.append(block)
        room -= len(block)
    note = (f"\n**{len(blocks) - len(kept)} of {len(blocks)} blocks left out** to fit a GitHub comment "
            f"({limit} characters); the full report has every row and detail: `{full_report}`\n")
    text = head + "".join(kept) + note
    if len(text) > limit:  # the grid alone is too big (hundreds of connectors): cut it, and say so
        text = text[:limit - len(note) - 1].rsplit("\n", 1)[0] + "\n" + note
    return text


def document(rows: Sequence[Row], fail_on: str, progress: Progress | None = None,
             extra: Sequence[str] = ()) -> dict:
    """The JSON report: every row in full. ``passed`` only for a complete run without a failing cell."""
    progress = progress or whole(rows)
    return {"passed": progress.complete and not failed(rows), "complete": progress.complete,
            "progress": progress.text(), "in_flight": list(progress.in_flight), "fail_on": fail_on,
            "totals": totals(rows), "remarks": list(extra),
            "results": [dict(vars(row), status=row.status.value) for row in rows]}  # asdict deep-copies: slow


def write(stem: str, rows: Sequence[Row], fail_on: str, progress: Progress | None = None,
          extra: Sequence[str] = ()) -> list[Path]:
    """``<stem>.json`` and ``<stem>.md``, each replaced whole (a reader never sees half a file); returns both."""
    base = Path(stem)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = [base.with_name(base.name + ".json"), base.with_name(base.name + ".md")]
    _replace(paths[0], _json_text(document(rows, fail_on, progress, extra)))
    _replace(paths[1], markdown(rows, fail_on, progress, extra, full_report=str(paths[0])))
    return paths


def _json_text(content: dict) -> str:
    """One key, and one result, per line: readable, and fast (``indent=`` takes json's pure-Python encoder,
    ten times slower, and the report is rewritten as each test starts and ends)."""
    fields = [f"{json.dumps(key)}: {json.dumps(value)}" for key, value in content.items() if key != "results"]
    results = ",\n  ".join(json.dumps(result) for result in content["results"])
    return "{\n" + ",\n".join(fields) + f',\n"results": [\n  {results}\n]\n}}\n'


def _replace(path: Path, text: str) -> None:
    """Write beside the target, then rename over it: atomic, so a run killed mid-write leaves the last report."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                     suffix=".tmp", delete=False) as handle:
        handle.write(text)
    os.replace(handle.name, path)
