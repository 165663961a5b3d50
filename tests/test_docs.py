"""The docs tell the truth: the README's catalogue matches the registry, and the worked example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.catalogue import markdown_table

ROOT = Path(__file__).resolve().parent.parent


def test_readme_clause_catalogue_matches_the_code() -> None:
    assert markdown_table() in (ROOT / "README.md").read_text()


def _python_blocks(markdown: str) -> dict:
    """Code blocks whose first line is ``# <filename> ...``, by filename."""
    blocks = re.findall(r"```python\n(.*?)```", markdown, flags=re.S)
    return {block.split()[1]: block for block in blocks}


def test_fake_backend_guide_example_runs(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _python_blocks((ROOT / "docs" / "testing-against-a-fake-backend.md").read_text())
    pytester.makepyfile(my_connector=files["my_connector.py"])
    monkeypatch.setenv("CONFORMANCE_JOBS_URL", "http://127.0.0.1:9")  # constructible, but bound to nothing
    unbound = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--connector=my_connector.MyConnector",
                                           "-k", "BACKEND-GET-TRANSIENT or DELETE-PURGED", "-rs")
    unbound.stdout.fnmatch_lines(["*no fake backend bound to MyConnector*"])
    unbound.assert_outcomes(skipped=2)

    pytester.makeconftest(files["conftest.py"])
    bound = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--connector=my_connector.MyConnector", "-rs")
    assert bound.ret == 0, bound.stdout.str()
    assert "no fake backend bound" not in bound.stdout.str()


def test_readme_lists_every_option() -> None:
    from conformance.config import knobs, option_name

    readme = (ROOT / "README.md").read_text()
    names = [option_name(k) for k in knobs()] + ["fail-on", "report"]
    assert [n for n in names if f"`--connector-{n}`" not in readme] == []


def test_ci_runs_the_readme_test_command() -> None:
    command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert command in (ROOT / "README.md").read_text()
