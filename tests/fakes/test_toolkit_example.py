"""The worked example of docs/writing-a-fake.md is what the guide shows, and it passes the suite end to end.

The guide includes docs/examples/*.py verbatim (checked here, so the two cannot drift); the fake stays
under 100 lines and uses no private name; and ``pytest --connector=<example connector>`` passes every
applicable clause bound by the conftest, by the Binding, and through the pytest-mock patch recipe.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Dict, Tuple

import pytest

from conformance.clause import all_clauses

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
GUIDE = ROOT / "docs" / "writing-a-fake.md"

SKIPPED = {
    "META-UPGRADE": "no snapshot directory",
    "META-MISSING-FIELD": "JobMeta has no field with a default",
    "CAP-LOGS": "does not override get_logs()",
    "CAP-METRICS": "does not override get_metrics()",
    "BACKEND-INVISIBLE-AFTER-CREATE": "does not model this: Jobs is read-after-write consistent",
}
"""The clauses that do not apply to the example connectors, and why; every other clause must PASS."""

FAULTS = ("PHASE-OUTPUTS", "PHASE-FAILURE-MESSAGE", "BACKEND-GET-TRANSIENT", "BACKEND-NO-ORPHANS",
          "BACKEND-CREATE-RETRY", "DELETE-PURGED", "BACKEND-INVISIBLE-AFTER-CREATE", "HYGIENE")
"""A scripted failure, each fault kind the clauses arm, a purge and a not-modelled control: enough to show
that a binding reaches the fake, for runs that need not repeat the whole suite."""

Outcomes = Dict[str, Tuple[str, str]]


def example_files() -> Dict[str, str]:
    return {f"docs/examples/{path.name}": path.read_text() for path in sorted(EXAMPLES.glob("*.py"))}


def test_the_guide_shows_every_example_file_verbatim() -> None:
    shown = dict(re.findall(r'```python title="([^"]+)"\n(.*?)```', GUIDE.read_text(), flags=re.S))
    files = example_files()
    stale = sorted(name for name in shown.keys() | files.keys() if shown.get(name) != files.get(name))
    assert stale == [], "docs/writing-a-fake.md must show each of these files verbatim, in a block ```python title=..."


def test_the_fake_is_under_100_lines() -> None:
    assert len((EXAMPLES / "rest_job_fake.py").read_text().splitlines()) < 100


def test_the_examples_use_no_private_name() -> None:
    private = []
    for name, source in example_files().items():
        for node in ast.walk(ast.parse(source)):
            module = getattr(node, "module", None) or ""
            if isinstance(node, ast.ImportFrom) and module.split(".")[0] in ("fake_backends", "conformance"):
                names = module.split(".") + [alias.name for alias in node.names]
                private += [f"{name}: {node.module}.{part}" for part in names if part.startswith("_")]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                private.append(f"{name}:{node.lineno}: .{node.attr}")
    assert private == []


def run_examples(pytester: pytest.Pytester, conftest: str, *args: str) -> Outcomes:
    """``pytest --connector=...`` in a fresh interpreter (imports in their real order), in a directory
    holding the examples as a user's project would; the clause -> (status, detail) table it reports."""
    for name, source in example_files().items():
        stem = Path(name).stem
        if not stem.startswith("conftest"):
            pytester.makepyfile(**{stem: source})
    pytester.makeconftest(conftest)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--connector-report=report", *args)
    report = json.loads((pytester.path / "report.json").read_text())
    outcomes = {f"{row['connector']} {row['clause']}": (row["status"], row["detail"]) for row in report["results"]}
    assert result.ret == 0, result.stdout.str()
    return outcomes


def expected(connector: str, clauses: Tuple[str, ...]) -> Dict[str, str]:
    return {f"{connector} {clause}": "SKIP" if clause in SKIPPED else "PASS" for clause in clauses}


def assert_skips_say_why(outcomes: Outcomes) -> None:
    for key, (status, detail) in outcomes.items():
        if status == "SKIP":
            assert SKIPPED[key.split()[1]] in detail, (key, detail)


@pytest.fixture
def no_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBS_URL", raising=False)


@pytest.mark.usefixtures("no_endpoint")
def test_the_conftest_binds_the_https_fake_and_every_clause_passes(pytester: pytest.Pytester) -> None:
    outcomes = run_examples(pytester, (EXAMPLES / "conftest.py").read_text(),
                            "--connector=rest_job_connector.JobsConnector")
    every = ("LOAD",) + tuple(clause.id for clause in all_clauses())
    assert {key: status for key, (status, _) in outcomes.items()} == expected("JobsConnector", every)
    assert_skips_say_why(outcomes)


@pytest.mark.usefixtures("no_endpoint")
def test_the_bindings_bind_the_rest_and_the_cli_connector(pytester: pytest.Pytester) -> None:
    outcomes = run_examples(pytester, (EXAMPLES / "conftest_binding.py").read_text(),
                            "--connector=rest_job_connector.JobsConnector", "--connector=cli_job.JobsCliConnector",
                            "-k", " or ".join(FAULTS))
    assert {key: status for key, (status, _) in outcomes.items()} == {
        **expected("JobsConnector", FAULTS), **expected("JobsCliConnector", FAULTS)}
    assert_skips_say_why(outcomes)


@pytest.mark.usefixtures("no_endpoint")
def test_the_patch_recipe_points_a_client_without_endpoint_variable_at_the_fake(pytester: pytest.Pytester) -> None:
    # The recipe's connector_factory replaces the conftest's, so JOBS_URL stays unset: only the patched
    # constructor can lead the connector to the fake.
    conftest = (EXAMPLES / "conftest.py").read_text() + "\n\n" + (EXAMPLES / "conftest_patch.py").read_text()
    clauses = ("PHASE-OUTPUTS", "BACKEND-NO-ORPHANS", "NET-EGRESS")
    outcomes = run_examples(pytester, conftest, "--connector=rest_job_connector.JobsConnector",
                            "-k", " or ".join(clauses))
    assert {key: status for key, (status, _) in outcomes.items()} == expected("JobsConnector", clauses)
