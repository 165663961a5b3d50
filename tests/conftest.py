"""Shared fixtures: run the whole plugin end to end with pytester and read outcomes per clause."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict

import pytest

# Import the heavy modules (flytekit, grpc, aiohttp) here, once: pytester's in-process runs drop the
# modules they import afterwards, and re-importing flytekit in every run is slow and leaves stale state.
import conformance.clauses  # noqa: F401,E402
import conformance.reference  # noqa: F401,E402
import conformance.run  # noqa: F401,E402

pytest_plugins = ["pytester"]

_CLAUSE_ID = re.compile(r"test_clause\[[^\]]*?-((?:[A-Z]+-)*[A-Z]+)\]$")


@dataclass
class SuiteRun:
    """Outcome per clause ID of one in-process ``pytest --connector=...`` run, plus its text output."""

    outcomes: Dict[str, str]
    output: str
    ret: int

    def failed(self) -> set:
        return {clause for clause, outcome in self.outcomes.items() if outcome == "failed"}


@pytest.fixture
def run_suite(pytester: pytest.Pytester):
    """``run_suite("broken.phases.Undefined", *more_args)`` runs every clause against that connector.

    In strict mode (SHOULD failures fail too), so a broken connector's SHOULD clause shows as failed.
    """

    def run(connector: str, *args: str) -> SuiteRun:
        result = pytester.runpytest_inprocess(f"--connector={connector}", "-p", "no:cacheprovider",
                                              "-rfEs", "--connector-fail-on=MUST,SHOULD", *args)
        outcomes = {}
        for report in result.reprec.getreports("pytest_runtest_logreport"):
            match = _CLAUSE_ID.search(report.nodeid)
            if match and (report.when == "call" or report.outcome != "passed"):
                outcomes[match.group(1)] = report.outcome
        return SuiteRun(outcomes, result.stdout.str(), result.ret)

    return run


@pytest.fixture
def failure_report():
    """``failure_report(output, clause_id)``: the FAILURES section of the test for ``clause_id`` in a run's output."""
    return _failure_report


def _failure_report(output: str, clause_id: str) -> str:
    header = re.compile(rf"^_+ \S*test_clause\[[^\]]*-{re.escape(clause_id)}\] _+$", re.M)
    match = header.search(output)
    assert match, f"no failure section for {clause_id}:\n{output}"
    end = re.compile(r"^(_{3,} |={3,} )", re.M).search(output, match.end())
    return output[match.end():end.start() if end else None]


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> "str | None":
    """Set-valued parameters get an id that does not depend on the hash seed: xdist workers (each with
    its own seed) must collect the same test ids."""
    if isinstance(val, (set, frozenset)):
        return f"{type(val).__name__}({', '.join(sorted(map(repr, val)))})"
    return None
