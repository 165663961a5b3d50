"""The connector x clause table, kept on the controller from what pytest reports: terminal, JSON, Markdown.

Every selected clause has a row whatever happened. The controller knows what was selected (the session's
items, or under xdist the ids its workers collected), what is in flight (``logstart``) and what finished;
a test no report finished is NOT RUN, one whose xdist worker died is CRASHED. With ``--connector-report``
the files are rewritten as the run goes, so a process that dies leaves a report that says it is
incomplete and names the clause in flight.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from conformance.pytest_collection import is_worker, suite_labels
from conformance.pytest_options import gate_settings, option_or_ini

if TYPE_CHECKING:
    from conformance.report import Progress, Row

_LEDGER = pytest.StashKey["Ledger"]()
_WRITTEN = pytest.StashKey[list[Path]]()
_PHASES = ("setup", "call", "teardown")
ISOLATION_HINT = ("connector code ran in the worker's own process: --connector-isolation=process (or clause) "
                  "keeps it in a child process, so a crash fails only the clause in flight")


@dataclass
class Ledger:
    """What the controller has seen of the run, keyed by node id."""

    selected: dict[str, dict[str, str]] = field(default_factory=dict)
    """Each selected conformance test's labels (connector, clause, level, fact), in collection order."""
    rows: dict[str, Row] = field(default_factory=dict)
    in_flight: dict[str, None] = field(default_factory=dict)
    crashes: int = 0


def ledger(config: pytest.Config) -> Ledger:
    return config.stash.setdefault(_LEDGER, Ledger())


def select_items(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without xdist: the session's items after deselection are what must each get a row."""
    if is_worker(config):
        return
    selected = ledger(config).selected
    for item in items:
        labels = dict(item.user_properties)
        if "clause" in labels:
            selected[item.nodeid] = cast("dict[str, str]", labels)


def select_ids(config: pytest.Config, ids: list[str]) -> None:
    """xdist: the controller collects nothing; every worker collects the same ids, so the first list is it."""
    selected = ledger(config).selected
    if selected:
        return
    known = suite_labels(config)
    for nodeid in ids:
        labels = known.get(nodeid.rsplit("::", 1)[-1])
        if labels is not None:
            selected[nodeid] = labels


def started(config: pytest.Config, nodeid: str) -> None:
    if is_worker(config):
        return
    ledger(config).in_flight[nodeid] = None
    write_report(config, final=False)


def record(config: pytest.Config, test_report: pytest.TestReport) -> None:
    """Keep the telling phase of each conformance test as its row: a failed or skipped setup, the call, a
    failed teardown, or xdist's report of a worker that died while running it (controller side)."""
    if is_worker(config):
        return
    book = ledger(config)
    row = _row(book, test_report)
    if row is not None:
        book.rows[test_report.nodeid] = row
    if test_report.when == "teardown" or test_report.when not in _PHASES:
        book.in_flight.pop(test_report.nodeid, None)
        write_report(config, final=False)


def _row(book: Ledger, test_report: pytest.TestReport) -> Row | None:
    from conformance.gate import Status
    from conformance.report import row_from

    if test_report.passed and test_report.when != "call":
        return None  # a passed setup says nothing yet; a passed teardown leaves the call's verdict
    # cast: the properties row_from reads are set by label_items and report, always as str
    properties = cast("dict[str, str]", dict(test_report.user_properties))
    if test_report.when not in _PHASES:  # xdist: the worker died with this test in flight
        book.crashes += 1
        labels = {**book.selected.get(test_report.nodeid, {}), **properties}
        detail = f"{_reason(test_report).strip()}: the process died while this clause ran\n{ISOLATION_HINT}"
        return row_from({**labels, "status": Status.CRASHED.value, "detail": detail}, "failed", "",
                        test_report.nodeid)
    row = row_from(properties, test_report.outcome, _reason(test_report), test_report.nodeid)
    if row is not None and test_report.failed and test_report.when != "call":
        row = dataclasses.replace(row, status=Status.ERROR, detail=f"{test_report.when} failed:\n"
                                  f"{test_report.longreprtext.strip()}")
    return row


def _reason(test_report: pytest.TestReport) -> str:
    """A skip's reason (pytest keeps it as a (path, line, reason) tuple), else the failure text."""
    if isinstance(test_report.longrepr, tuple):
        return test_report.longrepr[2].removeprefix("Skipped: ")
    text = test_report.longreprtext
    if text.startswith("[gw"):  # xdist heads a worker's failure with "[gw0] linux -- Python 3.11 ...": not the cause
        text = text.partition("\n")[2]
    return text


def finish(session: pytest.Session, exitstatus: int) -> None:
    """Rows for what never reported, the final report, and a failing exit status if any row fails."""
    config = session.config
    if is_worker(config) or not ledger(config).selected or config.option.collectonly:
        return  # --collect-only selects and runs nothing: no row is missing
    from conformance.report import failed

    _fill_not_run(config, exitstatus)
    write_report(config, final=True)
    if failed(ledger(config).rows.values()) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _fill_not_run(config: pytest.Config, exitstatus: int) -> None:
    """Every selected test without a row gets NOT RUN, saying why it never reported."""
    from conformance.gate import Status
    from conformance.report import row_from

    book = ledger(config)
    for nodeid, labels in book.selected.items():
        if nodeid not in book.rows:
            detail = f"never reported: {_why_not_run(book, nodeid, exitstatus)}"
            book.rows[nodeid] = cast("Row", row_from({**labels, "status": Status.NOT_RUN.value, "detail": detail},
                                                     "failed", "", nodeid))


def _why_not_run(book: Ledger, nodeid: str, exitstatus: int) -> str:
    if nodeid in book.in_flight:
        return "it started, and the run ended before it finished (interrupted, or its process died)"
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "the run was interrupted before it started"
    if book.crashes:
        return (f"the run stopped after {book.crashes} worker crash(es) before reaching it (xdist replaces a "
                f"crashed worker only so often); {ISOLATION_HINT}")
    return "the run stopped before it (e.g. -x/--maxfail, a time budget, or a crashed process)"


def _ordered_rows(config: pytest.Config) -> list[Row]:
    """Connectors in the order given, LOAD first, clauses in catalogue order: the same every run."""
    from conformance.clause import all_clauses
    from conformance.pytest_collection import connector_names
    from conformance.report import ordered

    return ordered(ledger(config).rows.values(), list(connector_names(config).values()),
                   [clause.id for clause in all_clauses()])


def _progress(config: pytest.Config, final: bool) -> Progress:
    from conformance.report import Progress

    book = ledger(config)
    flight = tuple(" ".join((book.selected.get(n, {}).get("connector", ""), book.selected.get(n, {}).get(
        "clause", n))).strip() for n in book.in_flight)
    return Progress(final, len(book.rows), max(len(book.selected), len(book.rows)), flight)


def write_report(config: pytest.Config, final: bool) -> None:
    """``--connector-report=PATH``: PATH.json and PATH.md, by the controller only, each time a test starts
    or ends (saying how far the run got) and once complete."""
    stem = option_or_ini(config, "connector_report")
    book = config.stash.get(_LEDGER, None)
    if not stem or is_worker(config) or book is None or not (book.selected or book.rows):
        return
    from conformance.report import write

    rows = _ordered_rows(config)
    config.stash[_WRITTEN] = write(str(Path(config.invocation_params.dir) / stem), rows,
                                   gate_settings(config).fail_on_text, _progress(config, final),
                                   _remarks(config, rows))


def _remarks(config: pytest.Config, rows: list[Row]) -> list[str]:
    from conformance.pytest_collection import unused_waivers

    return unused_waivers(config, [row.connector for row in rows])


def summarize(terminal: Any, config: pytest.Config) -> None:
    """The connector x clause table after the run, with a line per cause of skips, failures and waivers."""
    book = config.stash.get(_LEDGER, None)
    if book is None or not book.rows or is_worker(config):
        return
    from conformance.report import terminal_lines

    rows = _ordered_rows(config)
    terminal.write_sep("=", "connector conformance")
    for line in terminal_lines(rows, gate_settings(config).fail_on_text, _remarks(config, rows)):
        terminal.write_line(line)
    for path in config.stash.get(_WRITTEN, []):
        terminal.write_line(f"report written to {path}")
