"""Waivers from the connector repo's ``pyproject.toml``: known failures, each with a reason.

    [tool.connector-conformance.waivers.MyConnector]
    DELETE-PURGED = "backend answers 500 for purged jobs; fixed by #123"

Keys are connector names (the class name, as in the test ids), then clause IDs. Anything unexpected is an
error rather than ignored: a misspelt clause ID would otherwise silently waive nothing.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

SECTION = "tool.connector-conformance"
Waivers = dict[str, dict[str, str]]
"""connector class name -> clause ID -> reason"""


class WaiverError(ValueError):
    """The waiver table is malformed; the message is one line naming the file and the key."""


def load_waivers(pyproject: Path, clause_ids: Collection[str]) -> Waivers:
    """The waivers in ``pyproject``; no file or no section means none."""
    if not pyproject.is_file():
        return {}
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WaiverError(f"{pyproject}: invalid TOML: {exc}") from None
    section = document.get("tool", {}).get("connector-conformance", {})
    return parse_section(section, clause_ids, where=f"{pyproject} [{SECTION}]")


def parse_section(section: Any, clause_ids: Collection[str], where: str) -> Waivers:
    table = _table(section, where)
    unknown = sorted(set(table) - {"waivers"})
    if unknown:
        raise WaiverError(f"{where}: unknown key {unknown[0]!r} (known: waivers)")
    waivers = _table(table.get("waivers", {}), f"{where}.waivers")
    return {connector: _clauses(reasons, clause_ids, f"{where}.waivers.{connector}")
            for connector, reasons in waivers.items()}


def _clauses(reasons: Any, clause_ids: Collection[str], where: str) -> dict[str, str]:
    for clause_id, reason in _table(reasons, where).items():
        if clause_id not in clause_ids:
            close = difflib.get_close_matches(clause_id, clause_ids, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise WaiverError(f"{where}: unknown clause ID {clause_id!r}{hint}")
        if not isinstance(reason, str) or not reason.strip():
            raise WaiverError(f"{where}: {clause_id} needs a reason: {clause_id} = \"why it is waived\"")
    return dict(reasons)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WaiverError(f"{where}: expected a table, got {type(value).__name__} {value!r:.60}")
    return value


def misspelt(waivers: Waivers, connectors: Collection[str]) -> str | None:
    """The error for a waiver table whose connector name is close to, but not, one of this run's connectors:
    it would waive nothing, silently. None when every table names a connector exactly, or none closely."""
    for name in waivers:
        if name in connectors:
            continue
        close = [c for c in connectors if c.lower() == name.lower()] or difflib.get_close_matches(
            name, list(connectors), n=1, cutoff=0.8)
        if close:
            return (f"[{SECTION}.waivers.{name}] names no connector of this run (did you mean {close[0]}?): "
                    f"waiver tables are keyed by the connector's name as the test ids show it")
    return None


def unused(waivers: Waivers, connectors: Collection[str]) -> list[str]:
    """A remark per waiver table for a connector not in this run (a pyproject may hold tables for others)."""
    return [f"waivers for {name} ([{SECTION}.waivers.{name}]) apply to no connector of this run"
            for name in waivers if name not in connectors]
