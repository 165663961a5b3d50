"""The connector x clause table, kept from pytest's test reports on the controller: terminal, JSON, Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from conformance.pytest_collection import is_worker
from conformance.pytest_options import gate_settings, option_or_ini

if TYPE_CHECKING:
    from conformance.report import Row


_ROWS = pytest.StashKey[dict[str, "Row"]]()
_WRITTEN = pytest.StashKey[list[Path]]()


def record(config: pytest.Config, test_report: pytest.TestReport) -> None:
    """Keep the latest telling phase of each conformance test as a table row (controller side)."""
    from conformance.report import row_from

    rows = config.stash.setdefault(_ROWS, {})
    if test_report.when == "call" or test_report.outcome != "passed" or test_report.nodeid not in rows:
        # cast: the properties row_from reads (connector, clause, level, fact, status, detail, notes) are set
        # by label_items and report, always as str; pytest types user_properties' values as object.
        properties = cast("dict[str, str]", dict(test_report.user_properties))
        row = row_from(properties, test_report.outcome, _reason(test_report))
        if row is not None:
            rows[test_report.nodeid] = row


def _reason(test_report: pytest.TestReport) -> str:
    """A skip's reason (pytest keeps it as a (path, line, reason) tuple), else the failure text."""
    if isinstance(test_report.longrepr, tuple):
        return test_report.longrepr[2].removeprefix("Skipped: ")
    return test_report.longreprtext


def write_report(config: pytest.Config) -> None:
    """``--connector-report=PATH``: PATH.json and PATH.md, written by the controller only."""
    stem = option_or_ini(config, "connector_report")
    if not stem or is_worker(config) or _ROWS not in config.stash:
        return
    from conformance.report import write

    rows = list(config.stash[_ROWS].values())
    config.stash[_WRITTEN] = write(str(Path(config.invocation_params.dir) / stem), rows,
                                   gate_settings(config).fail_on_text)


def summarize(terminal: Any, config: pytest.Config) -> None:
    """The connector x clause table after the run, with a line per skip, waiver and warning."""
    rows = list(config.stash.get(_ROWS, {}).values())
    if not rows or is_worker(config):
        return
    from conformance.report import terminal_lines

    terminal.write_sep("=", "connector conformance")
    for line in terminal_lines(rows, gate_settings(config).fail_on_text):
        terminal.write_line(line)
    for path in config.stash.get(_WRITTEN, []):
        terminal.write_line(f"report written to {path}")
