"""One clause test's result, turned into pytest's outcome through the gate (levels, waivers)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from conformance.pytest_collection import params_of
from conformance.pytest_options import gate_settings

_PROBES = pytest.StashKey[dict[tuple, Any]]()
_BUDGETS = pytest.StashKey[dict[str, Any]]()
"""conformance.run.TimeBudget per connector: what the suite may still spend on it in this process."""


def run_and_report(clause: Any, subject: Any, service: Any, config: Any, request: pytest.FixtureRequest) -> None:
    """Run one clause, unless the connector's probe decides it: a broken setup step is reported once.

    Where connector code runs is config.isolation's choice (conformance.host): a child process by default."""
    from conformance.host import decide_or_run
    from conformance.run import TimeBudget

    budget = request.config.stash.setdefault(_BUDGETS, {}).setdefault(subject.name, TimeBudget(config.suite_budget))
    stay_here = _patches(request)
    report(budget.run(clause, lambda: decide_or_run(clause, subject, config, _probe_for(request, subject), service,
                                                    stay_here)), subject.name, request)


PATCHING_FIXTURES = ("monkeypatch", "mocker", "class_mocker", "module_mocker", "package_mocker", "session_mocker")


def _patches(request: pytest.FixtureRequest) -> str:
    """Why the connector must run in this process: a fixture it uses patches objects here (the environment
    travels to the connector host, attributes do not)."""
    used = [name for name in PATCHING_FIXTURES if name in request.fixturenames]
    return f"its fixtures use {', '.join(used)}, whose patches live in the test's process" if used else ""


def stop_host() -> None:
    """The connector host, and what connector code left running in it, ends with the session (pytester
    runs several sessions in one process; an xdist worker may leave without running atexit). Imported,
    conformance.host also removes flytekit's temp dirs at exit (an xdist controller imports flytekit too)."""
    if "conformance.host" in sys.modules or "flytekit" in sys.modules:
        from conformance.host import shutdown  # the module in sys.modules, which ran decide_or_run

        shutdown()


def _probe_for(request: pytest.FixtureRequest, subject: Any) -> Any:
    """One probe per connector (and task) per process, knowing which of its clauses this session selected.

    Every xdist worker collects the same items, so each picks the same clause to report a setup failure.
    """
    from conformance.probe import Probe

    probes = request.config.stash.setdefault(_PROBES, {})
    key = (subject.name, repr(subject.template), repr(subject.inputs))
    if key not in probes:
        selected = [params["conformance_clause"] for item in request.session.items
                    if dict(item.user_properties).get("connector") == subject.name
                    and "conformance_clause" in (params := params_of(item))]
        probes[key] = Probe(selected)
    return probes[key]


def report(result: Any, connector: str, request: pytest.FixtureRequest) -> None:
    """Turn a ClauseResult into pytest's outcome through the gate (levels, waivers).

    The gate status goes on the report as a user property, so the controller's table is right under
    xdist too. Results that must not fail the run (WAIVED, WARN) are xfails: visible, not red. Notes go
    into a report section and the summary, not into warnings (``filterwarnings = error`` is common).
    """
    from conformance.gate import Status, decide

    clause = result.clause
    gate = gate_settings(request.config)
    waiver = gate.waivers.get(connector, {}).get(clause.id)
    status = decide(result.outcome.value, clause.level, waiver, gate.fail_on)
    if result.notes:
        request.node.add_report_section("call", "conformance notes", "\n".join(result.notes))
        request.node.user_properties.append(("notes", "\n".join(result.notes)))
    failure = f"{clause.id} [{clause.level.value}, {clause.fact}] {clause.summary}\n{result.message}"
    details = {
        Status.SKIP: result.message,
        Status.BLOCKED: result.message,
        Status.ERROR: result.message,
        Status.NOT_RUN: f"{clause.id} NOT RUN: {result.message}",
        Status.WAIVED: f"waived: {waiver}",
        Status.WARN: f"{clause.level.value} failure, not gating (fail on: {gate.fail_on_text})\n{failure}",
        Status.STALE: f"STALE waiver: {connector} passes {clause.id} now; delete {clause.id} from "
                      f"[tool.connector-conformance.waivers.{connector}] in pyproject.toml (it said: {waiver})",
    }
    request.node.user_properties += [("status", status.value), ("detail", details.get(status, ""))]
    if result.failure is not None:  # one line for summaries, from the structured failure, not parsed from text
        request.node.user_properties.append(("cause", result.failure.cause))
    if status in (Status.FAIL, Status.CRASHED):
        pytest.fail(failure, pytrace=False)
    if status in (Status.STALE, Status.ERROR, Status.NOT_RUN):
        pytest.fail(details[status], pytrace=False)
    if status in (Status.SKIP, Status.BLOCKED):
        pytest.skip(f"{clause.id}: {result.message}")
    if status in (Status.WAIVED, Status.WARN):
        pytest.xfail(f"{clause.id} {status.value} ({details[status].splitlines()[0]})")


_WORDS = {"ERROR": ("error", "E", "ERROR"), "CRASHED": ("failed", "C", "CRASHED"),
          "NOT RUN": ("failed", "N", "NOT RUN")}
"""Gate statuses pytest shows by their own word: a harness error is pytest's ERROR, not a FAIL (it says
nothing about the connector); a crash or a clause never run fails the run, but is not the clause's FAIL."""


def teststatus(test_report: pytest.TestReport) -> tuple | None:
    if not test_report.failed:
        return None
    if test_report.when not in ("setup", "call", "teardown"):  # xdist: its worker died with it in flight
        return _WORDS["CRASHED"]
    status = dict(test_report.user_properties).get("status") if test_report.when == "call" else None
    return _WORDS.get(str(status)) if status else None
