"""The adoption kit does what docs/ci-gate.md says: the workflow's and the tox snippet's commands run,
offline, against a connector repo, in parallel under pytest-xdist, and produce the report."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

pytest.importorskip("xdist", reason="pytest-xdist is a test dependency: pip install -e '.[test]'")

ADOPTION = Path(__file__).resolve().parent.parent / "docs" / "adoption"
EXPRESSIONS = {"matrix.flytekit": "flytekit"}
"""Workflow expressions and the value this (already provisioned) environment stands for."""

METADATA_ONLY_BACKEND = '''
"""A build backend that only answers metadata: enough for ``pip install --dry-run -e .`` offline."""
import os


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    name = "my_connector-0.1.dist-info"
    os.makedirs(os.path.join(metadata_directory, name))
    with open(os.path.join(metadata_directory, name, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\\nName: my-connector\\nVersion: 0.1\\n")
    return name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("metadata only")
'''


@pytest.fixture
def connector_repo(tmp_path: Path) -> Path:
    """A connector repository as the workflow expects it: installable, ``my_connector.connector.MyConnector``."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "my-connector"\nversion = "0.1"\n\n[build-system]\nrequires = []\n'
        'build-backend = "metadata_only_backend"\nbackend-path = ["."]\n')
    (tmp_path / "metadata_only_backend.py").write_text(METADATA_ONLY_BACKEND)
    (tmp_path / "my_connector").mkdir()
    (tmp_path / "my_connector" / "__init__.py").write_text("")
    (tmp_path / "my_connector" / "connector.py").write_text(
        "from conformance.reference import ReferenceConnector\n\n\nclass MyConnector(ReferenceConnector):\n"
        "    pass\n")
    return tmp_path


def offline_env(repo: Path, **extra: str) -> Dict[str, str]:
    """This venv first on PATH; pip resolves from what is installed and changes nothing (dry run)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PIP_NO_INDEX="1", PIP_DRY_RUN="1", PYTEST_XDIST_AUTO_NUM_WORKERS="2",
               GITHUB_STEP_SUMMARY=str(repo / "step-summary.md"))
    env.pop("PYTEST_ADDOPTS", None)
    env.update(extra)
    return env


def substitute(command: str) -> str:
    def value(match: re.Match) -> str:
        assert match.group(1) in EXPRESSIONS, f"the test does not know ${{{{ {match.group(1)} }}}}: add it"
        return EXPRESSIONS[match.group(1)]

    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", value, command)


def run_step(command: str, repo: Path, env: Dict[str, str]) -> str:
    step = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    assert step.returncode == 0, f"{command}\n{step.stdout[-5000:]}\n{step.stderr[-3000:]}"
    return step.stdout


def workflow_run_steps() -> List[str]:
    workflow = yaml.safe_load((ADOPTION / "connector-conformance.yml").read_text())
    (job,) = workflow["jobs"].values()
    return [substitute(step["run"]) for step in job["steps"] if "run" in step]


def test_workflow_runs_the_whole_suite_in_parallel_and_reports(connector_repo: Path) -> None:
    workflow = yaml.safe_load((ADOPTION / "connector-conformance.yml").read_text())
    env = offline_env(connector_repo, **workflow["env"])
    outputs = [run_step(command, connector_repo, env) for command in workflow_run_steps()]

    assert "Would install my-connector-0.1" in outputs[0]
    assert "2 workers" in outputs[1]  # pytest -n auto, capped at 2 for the test machine
    report = json.loads((connector_repo / "conformance-report.json").read_text())
    assert report["passed"], [row for row in report["results"] if row["status"] != "PASS"]
    assert {row["connector"] for row in report["results"]} == {"MyConnector"}
    from conformance.clause import all_clauses

    assert {row["clause"] for row in report["results"]} == {"LOAD"} | {c.id for c in all_clauses()}
    assert "## Connector conformance: ✅ passed" in (connector_repo / "step-summary.md").read_text()
    assert (connector_repo / "conformance-junit.xml").is_file()
    assert list((connector_repo / workflow["env"]["SNAPSHOTS"] / "conformance_job-v0").glob("create-*.meta"))


def test_tox_snippet_commands_run(connector_repo: Path) -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ADOPTION / "tox.ini")
    oldest = tox["testenv:conformance-oldest"]
    assert "flytekit==1.16.0" in oldest["deps"] and oldest["commands"] == "{[testenv:conformance]commands}"
    for command in tox["testenv:conformance"]["commands"].strip().splitlines():
        command = command.replace("{posargs}", "-k STRUCT-SIGNATURES")
        assert "{" not in command, f"substitute {command!r} in the test"
        run_step(command, connector_repo, offline_env(connector_repo))
    assert json.loads((connector_repo / "conformance-report.json").read_text())["passed"]
