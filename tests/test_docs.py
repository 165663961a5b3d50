"""The docs tell the truth: the README's catalogue matches the registry, and every snippet in the README and
docs/*.md is run, checked, or marked illustrative (```text, output samples):

- ```python title="docs/examples/..."``: shown verbatim and run by tests/fakes/test_toolkit_example.py;
- ```python``: run here (PYTHON_SNIPPETS names the test that runs each);
- ```sh``: each command checked here (pip installs name this checkout, pytest commands load their
  connector, ``python -m`` commands accept their options);
- ```toml``: parsed here.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from conformance.catalogue import markdown_table

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", flags=re.S | re.M)
PYTHON_SNIPPETS = {
    ("README.md", "from conformance import ConnectorContract"): "test_readme_contract_subclass_runs_every_clause",
    ("README.md", "from conformance import Subject, check_connector"): "test_readme_check_connector_example_passes",
    ("docs/testing-against-a-fake-backend.md", "# my_connector.py"): "test_fake_backend_guide_example_runs",
    ("docs/testing-against-a-fake-backend.md", "# conftest.py"): "test_fake_backend_guide_example_runs",
}
"""Each untitled python snippet (by file and the start of its first line) and the test that runs it."""
ILLUSTRATIVE = {("README.md", "PHASE-ACCEPTED [MUST, F-PHASE-1]"), ("docs/ci-gate.md", "=====")}
"""The ```text snippets: sample output, kept few."""
STAND_IN = "from conformance.reference import ReferenceConnector as MyConnector\n"
"""``my_pkg.connector.MyConnector`` of the snippets: a correct connector under the name they use."""
Snippet = Tuple[str, str, str]


def snippets(language: str = "") -> List[Snippet]:
    """(file relative to the root, info string, body) of every fenced block, or of one language's."""
    found = [(str(path.relative_to(ROOT)), info.strip(), body) for path in DOCS
             for info, body in FENCE.findall(path.read_text())]
    return [s for s in found if not language or s[1] == language]


def _is(snippet: Snippet, known: tuple) -> bool:
    return snippet[0] == known[0] and snippet[2].startswith(known[1])


def test_every_snippet_is_run_checked_or_marked_illustrative() -> None:
    kinds = {"python", "sh", "toml", "text"}
    unknown = [s[:2] for s in snippets() if s[1] not in kinds and not s[1].startswith('python title="docs/examples/')]
    assert unknown == [], f"give each block one of {sorted(kinds)} (or python title=) and a test: {unknown}"
    python = snippets("python")
    assert [s[:2] + (s[2][:40],) for s in python if not any(_is(s, k) for k in PYTHON_SNIPPETS)] == []
    assert all(any(_is(s, k) for s in python) for k in PYTHON_SNIPPETS), "PYTHON_SNIPPETS names a snippet gone"
    text = snippets("text")
    assert len(text) == len(ILLUSTRATIVE) and all(any(_is(s, k) for s in text) for k in ILLUSTRATIVE), text


def _python_snippet(key: tuple) -> str:
    (body,) = [s[2] for s in snippets("python") if _is(s, key)]
    return body


def test_readme_check_connector_example_passes(capsys: pytest.CaptureFixture) -> None:
    namespace: dict = {}
    exec(_python_snippet(("README.md", "from conformance import Subject, check_connector")), namespace)
    report = namespace["report"]
    assert report.passed, [(r.clause.id, r.message) for r in report.results if not r.passed]
    from conformance.clause import all_clauses

    assert {r.clause.id for r in report.results} == {c.id for c in all_clauses()}
    assert "PHASE-OUTPUTS PASS" in capsys.readouterr().out


def test_readme_contract_subclass_runs_every_clause(pytester: pytest.Pytester) -> None:
    from conformance.clause import all_clauses

    pytester.mkpydir("my_pkg").joinpath("connector.py").write_text(STAND_IN)
    pytester.makepyfile(test_mine=_python_snippet(("README.md", "from conformance import ConnectorContract")))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--connector-snapshots={pytester.path}")
    result.assert_outcomes(passed=len(all_clauses()))


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


def test_readme_options_table_is_generated_from_the_knobs() -> None:
    """Every option with its ini key, default and meaning; rewrite with ``python -m conformance.config``."""
    from conformance.config import options_table

    assert options_table() in (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command() -> None:
    readme = [line for line in (ROOT / "README.md").read_text().splitlines() if line.endswith("pytest tests -n auto")]
    assert len(readme) == 1 and readme[0] in (ROOT / ".ci" / "run").read_text().splitlines()


def commands() -> List[Tuple[str, List[str]]]:
    """Every command of the ```sh snippets, split at ``&&``, comments dropped, ``.venv/bin/`` and ``python3``
    spelled as on any PATH."""
    found = []
    for name, _, body in snippets("sh"):
        for line in body.splitlines():
            for command in line.split(" #")[0].split("&&"):
                argv = [word.removeprefix(".venv/bin/") for word in shlex.split(command, comments=True)]
                if argv:
                    found.append((name, ["python" if argv[0] == "python3" else argv[0], *argv[1:]]))
    return found


def test_toml_snippets_parse() -> None:
    for name, _, body in snippets("toml"):
        assert tomllib.loads(body), name


def test_pip_installs_name_this_checkout_or_a_wheel_built_from_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"])
    wheel = re.compile(rf"dist/flyte_connector_conformance-{re.escape(project['version'])}-py3-none-any\.whl")
    for name, argv in commands():
        if argv[:2] != ["pip", "install"]:
            continue
        for requirement in [a for a in argv[2:] if a != "-e"]:
            match = re.fullmatch(r"\.(?:\[([\w,]+)\])?", requirement)
            assert match or wheel.fullmatch(requirement), f"{name}: {requirement} is not this checkout: {argv}"
            assert not match or set(filter(None, (match.group(1) or "").split(","))) <= extras, argv


@pytest.mark.parametrize("argv", [argv for _, argv in commands() if argv[:2] == ["python", "-m"]], ids=" ".join)
def test_python_module_commands_accept_their_options(argv: List[str]) -> None:
    """``python -m X --help`` runs, and every option the snippet gives is one it lists."""
    help_text = subprocess.run([sys.executable, *argv[1:3], "--help"], cwd=ROOT, capture_output=True, text=True,
                               timeout=120, check=True).stdout
    options = [word.split("=")[0] for word in argv[3:] if word.startswith("-")]
    assert [o for o in options if not re.search(rf"(^|[\s,\[]){re.escape(o)}\b", help_text)] == [], help_text


def _runs_a_connector(argv: List[str]) -> bool:
    return argv[0] == "pytest" and any(word.startswith("--connector=") for word in argv)


@pytest.mark.parametrize("argv", [argv for _, argv in commands() if _runs_a_connector(argv)], ids=" ".join)
def test_pytest_commands_load_their_connector(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                              argv: List[str]) -> None:
    """Its options are valid and its connector loads; the clauses are left to the tests that run them."""
    pytester.mkpydir("my_pkg").joinpath("connector.py").write_text(STAND_IN)
    monkeypatch.syspath_prepend(str(ROOT / "docs" / "examples"))
    args = [word for word in argv[1:] if word.startswith("-") and word != "-n"]
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", *args, "-k", "connector_loads")
    result.assert_outcomes(passed=1)


def test_every_sh_command_is_checked() -> None:
    """pip installs, ``python -m`` and pytest runs are checked above; ``pytest tests`` is what CI runs."""
    unchecked = [(name, argv) for name, argv in commands() if argv[:2] not in (["pip", "install"], ["python", "-m"])
                 and not _runs_a_connector(argv) and argv != ["pytest", "tests", "-n", "auto"]]
    assert unchecked == [], "check these commands in tests/test_docs.py"
