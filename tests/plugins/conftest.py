"""The one way the pinned results pages run a bound plugin: as a user runs it, no conftest, only --connector."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Mapping, Sequence

import pytest


@dataclass
class BoundRun:
    """Verdicts and their details per connector class name, from one run's JSON report."""

    status: Dict[str, Dict[str, str]]
    detail: Dict[str, Dict[str, str]]
    ret: int

    def expect(self, connector: str, not_pass: Mapping[str, str],
               either: Mapping[str, FrozenSet[str]] = {}) -> Dict[str, str]:
        """Every clause PASSes but those in ``not_pass`` (exactly that verdict) and ``either`` (one of those,
        for hazards whose size depends on the machine); returns the details, to check the lines they name."""
        verdicts = dict(self.status[connector])
        verdicts.pop("LOAD", None)
        assert set(not_pass) | set(either) <= set(verdicts), connector
        for clause, allowed in either.items():
            assert verdicts.pop(clause) in allowed, self.detail[connector][clause]
        assert verdicts == {clause: not_pass.get(clause, "PASS") for clause in verdicts}, connector
        return self.detail[connector]


@pytest.fixture
def run_bound(pytester: pytest.Pytester) -> Callable[..., BoundRun]:
    """``run_bound([spec, ...], "-k", "DELETE")``: one subprocess run of those connectors, read from its report."""

    def run(specs: Sequence[str], *extra: str) -> BoundRun:
        result = pytester.runpytest_subprocess(*(f"--connector={spec}" for spec in specs), "-p", "no:cacheprovider",
                                               "--connector-report=report", *extra)
        status: Dict[str, Dict[str, str]] = {}
        detail: Dict[str, Dict[str, str]] = {}
        for row in json.loads((pytester.path / "report.json").read_text())["results"]:
            status.setdefault(row["connector"], {})[row["clause"]] = row["status"]
            detail.setdefault(row["connector"], {})[row["clause"]] = row["detail"]
        return BoundRun(status, detail, result.ret)

    return run


@pytest.fixture
def run_twin(pytester: pytest.Pytester, run_bound: Callable[..., BoundRun]) -> Callable[..., BoundRun]:
    """``run_twin("mod.Fixed", source, conftest, clauses)``: a corrected copy of a plugin connector, written as
    ``mod.py`` beside ``conftest`` (which hands it the plugin's binding), run on ``clauses`` only."""

    def run(spec: str, source: str, conftest: str, clauses: Sequence[str]) -> BoundRun:
        module, _, name = spec.rpartition(".")
        pytester.makepyfile(**{module: source})
        pytester.makeconftest(conftest)
        result = run_bound([spec], "-k", " or ".join(clauses))
        assert set(clauses) <= set(result.status[name]), "every selected clause ran"
        return result

    return run

