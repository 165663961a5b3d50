"""The CI gate end to end: report files and table, JUnit properties, levels, waivers, snapshots, fuzz
profiles and ``--connector=all`` discovery."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from conformance.clause import all_clauses
from conformance.waivers import WaiverError, parse_section

REFERENCE = "conformance.reference.ReferenceConnector"
STRICT = "broken.upgrade.StrictDecode"  # fails exactly META-EXTRA-FIELD, a SHOULD clause
SOME = "META-EXTRA-FIELD or META-ROUNDTRIP and not EXACT or loads"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rxs", *args)


def test_report_files_terminal_table_and_junit_properties(pytester: pytest.Pytester) -> None:
    result = run(pytester, f"--connector={REFERENCE}", f"--connector={STRICT}", "--connector=nope.X", "-k", SOME,
                 "--connector-report=out/conformance", "--junitxml=junit.xml", "--connector-fail-on=MUST,SHOULD")
    result.stdout.fnmatch_lines([
        "*= connector conformance =*",
        "clause *level *ReferenceConnector *StrictDecode *nope.X*",
        "LOAD *-  *PASS *PASS *FAIL*",
        "META-ROUNDTRIP *MUST *PASS *PASS *-*",
        "META-EXTRA-FIELD *SHOULD *PASS *FAIL *-*",
        "nope.X LOAD FAIL: nope.X: no module named 'nope'*",
        "fail on: MUST,SHOULD; 5 PASS, 2 FAIL",
    ])
    document = json.loads((pytester.path / "out" / "conformance.json").read_text())
    assert document["passed"] is False and document["totals"] == {"PASS": 5, "FAIL": 2}
    strict = next(r for r in document["results"] if r["connector"] == "StrictDecode" and r["level"] == "SHOULD")
    assert strict["status"] == "FAIL" and "KeyError: 'added_by_a_later_version'" in strict["detail"]
    markdown = (pytester.path / "out" / "conformance.md").read_text()
    assert "## Connector conformance: ❌ failed" in markdown
    assert "| `META-EXTRA-FIELD` | SHOULD | PASS | FAIL | - |" in markdown
    assert "<details><summary>FAIL: StrictDecode META-EXTRA-FIELD</summary>" in markdown

    cases = ElementTree.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    properties = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")} for case in cases}
    assert properties["test_clause[StrictDecode-META-EXTRA-FIELD]"] == {
        "connector": "StrictDecode", "clause": "META-EXTRA-FIELD", "level": "SHOULD", "fact": "F-WIRE-1",
        "status": "FAIL", "detail": "",
        "cause": "decoding the create() meta plus 'added_by_a_later_version' failed: "
                 "KeyError: 'added_by_a_later_version'"}
    assert properties["test_connector_loads[nope.X]"] == {"connector": "nope.X", "clause": "LOAD"}


@pytest.mark.parametrize("fail_on", [(), ("--connector-fail-on=MUST",)], ids=["default", "MUST"])
def test_should_failures_are_reported_without_failing_by_default(pytester: pytest.Pytester, fail_on: tuple) -> None:
    result = run(pytester, f"--connector={STRICT}", "-k", "META-EXTRA-FIELD", "--connector-report=out", *fail_on)
    assert result.ret == 0
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines([
        "META-EXTRA-FIELD *SHOULD *WARN*",
        "StrictDecode META-EXTRA-FIELD WARN: *KeyError: 'added_by_a_later_version'",
        "fail on: MUST; 1 WARN",
    ])
    document = json.loads((pytester.path / "out.json").read_text())
    assert document["passed"] is True and document["results"][0]["status"] == "WARN"


@pytest.mark.parametrize("value", ["SHOULD", "should,MUST"])
def test_should_alone_is_strict_and_must_still_fails(pytester: pytest.Pytester, value: str) -> None:
    """MUST always gates (unless none): a SHOULD gate that let MUST failures through would pass broken code."""
    must = "broken.metadata.ScriptInMeta"  # fails META-SIZE, a MUST clause
    result = run(pytester, f"--connector={STRICT}", f"--connector={must}", f"--connector-fail-on={value}",
                 "-k", "META-EXTRA-FIELD or META-SIZE")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["fail on: MUST,SHOULD; *"])
    assert "WARN" not in result.stdout.str()


@pytest.mark.parametrize("value", ["MAY", "", "MUST,NEVER", "none,MUST"])
def test_bad_fail_on_is_a_usage_error_listing_valid_values(pytester: pytest.Pytester, value: str) -> None:
    pytester.makeini(f"[pytest]\nconnector_fail_on = {value or ','}\n")
    result = run(pytester, f"--connector={REFERENCE}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ini connector_fail_on: * is not a valid value; use MUST (the default), "
                                 "MUST,SHOULD (strict; *) or none (report only)"])


WAIVERS = """
[tool.pytest.ini_options]
[tool.connector-conformance.waivers.StrictDecode]
META-EXTRA-FIELD = "old metas carry extra keys we reject; fixed in #42"
[tool.connector-conformance.waivers.ReferenceConnector]
META-EXTRA-FIELD = "was broken before 0.3"
"""


def test_waived_failure_is_waived_and_a_passing_waiver_is_stale(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject=WAIVERS)
    result = run(pytester, f"--connector={STRICT}", f"--connector={REFERENCE}", "-k", "META-EXTRA-FIELD")
    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines([
        "META-EXTRA-FIELD *SHOULD *WAIVED *STALE*",
        "StrictDecode META-EXTRA-FIELD WAIVED: waived: old metas carry extra keys we reject; fixed in #42",
        "ReferenceConnector META-EXTRA-FIELD STALE: STALE waiver: ReferenceConnector passes META-EXTRA-FIELD now;"
        " delete META-EXTRA-FIELD from [[]tool.connector-conformance.waivers.ReferenceConnector[]]*",
    ])


@pytest.mark.parametrize("section, error", [
    ({"waiver": {}}, "unknown key 'waiver' (known: waivers)"),
    ({"waivers": {"C": {"DELETE-PURGE": "x"}}},
     "waivers.C: unknown clause ID 'DELETE-PURGE' (did you mean DELETE-PURGED?)"),
    ({"waivers": {"C": {"DELETE-PURGED": "  "}}}, "waivers.C: DELETE-PURGED needs a reason"),
    ({"waivers": {"C": {"DELETE-PURGED": True}}}, "waivers.C: DELETE-PURGED needs a reason"),
    ({"waivers": {"C": ["DELETE-PURGED"]}}, "waivers.C: expected a table, got list"),
])
def test_malformed_waivers_are_rejected(section: dict, error: str) -> None:
    with pytest.raises(WaiverError, match=None) as caught:
        parse_section(section, {"DELETE-PURGED"}, where="pyproject.toml [tool.connector-conformance]")
    assert error in str(caught.value) and "\n" not in str(caught.value)


def test_malformed_waiver_is_a_one_line_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject='[tool.connector-conformance.waivers.X]\nDELETE-PURGE = "why"\n')
    result = run(pytester, f"--connector={REFERENCE}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *pyproject.toml [[]tool.connector-conformance[]].waivers.X: unknown clause "
                                 "ID 'DELETE-PURGE' (did you mean DELETE-PURGED?)"])


def test_snapshots_recorded_then_a_corrupted_sample_is_named(pytester: pytest.Pytester, tmp_path: Path) -> None:
    snapshots = f"--connector-snapshots={tmp_path}"
    first = run(pytester, f"--connector={REFERENCE}", snapshots, "-k", "META-UPGRADE or META-FUZZ")
    first.assert_outcomes(passed=2)
    stored = sorted(p.name.split("-")[0] for p in (tmp_path / "conformance_job-v0").glob("*.meta"))
    assert stored[0] == "create" and stored[-1] == "fuzz" and len(stored) > 2
    victim = next((tmp_path / "conformance_job-v0").glob("fuzz-*.meta"))
    victim.write_bytes(b'{"jobid": "j-1"}')  # what a release that renamed the field would have stored
    second = run(pytester, f"--connector={REFERENCE}", snapshots, "-k", "META-UPGRADE")
    second.assert_outcomes(failed=1)
    second.stdout.fnmatch_lines(["*1 stored meta(s) no longer decode:", f"*{victim}: TypeError:*"])


def test_fuzz_failure_prints_seed_and_reproduction(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--connector=broken.metadata.IntKeyedDict", "-k", "META-FUZZ",
                 "--connector-fuzz-profile=ci")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*seed: 20240601 (replay: -k META-FUZZ --connector-fuzz-seed=20240601 --connector-fuzz-profile=ci)",
        "*minimal reproduction:",
        "*    from broken.metadata import RetriedMeta",
        "*    meta = RetriedMeta(job_id='', submitted_at=0.0, retry_attempt=0, previous_jobs={0: ''})",
        "*    assert RetriedMeta.decode(meta.encode()) == meta",
    ])


def test_unknown_fuzz_profile_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, f"--connector={REFERENCE}", "--connector-fuzz-profile=nightly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --connector-fuzz-profile: 'nightly' is not a valid value; "
                                 "use one of dev, ci, thorough"])


PLUGIN_GOOD = '''
from flytekit.extend.backend.base_connector import ConnectorRegistry

from conformance.reference import ReferenceConnector


class PluginConnector(ReferenceConnector):
    def __init__(self, base_url=None):
        super().__init__(base_url)
        self._task_category = type(self._task_category)(name="fake_installed_plugin", version=0)


ConnectorRegistry.register(PluginConnector(base_url="http://127.0.0.1:9"))  # as plugins do at import
'''


@pytest.fixture
def installed_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site directory with one distribution declaring a working and a broken flytekit plugin."""
    site = tmp_path / "site"
    (site / "fakeplugins-1.0.dist-info").mkdir(parents=True)
    (site / "fakeplugins-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fakeplugins\nVersion: 1.0\n")
    (site / "fakeplugins-1.0.dist-info" / "entry_points.txt").write_text(
        "[flytekit.plugins]\ngood = fake_plugin_good\nbroken = fake_plugin_broken\n")
    (site / "fake_plugin_good.py").write_text(PLUGIN_GOOD)
    (site / "fake_plugin_broken.py").write_text("raise ImportError('libfoo.so: cannot open shared object file')\n")
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    monkeypatch.setattr(ConnectorRegistry, "_REGISTRY", {})  # the plugin registers at import, once per run
    monkeypatch.setattr(ConnectorRegistry, "_METADATA", {})
    return site


def test_all_runs_installed_plugins_and_reports_a_broken_one(pytester: pytest.Pytester, installed_plugins: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(installed_plugins))
    # Real plugins may be installed beside the fake ones: select only what the fake site directory declares.
    result = run(pytester, "--connector=all", "-k", "PluginConnector and STRUCT or fake_plugin_good or broken")
    result.stdout.fnmatch_lines([
        "*flytekit plugin 'broken' (fake_plugin_broken) failed to import: ImportError: libfoo.so: cannot open*",
    ])
    structure = len([c for c in all_clauses() if c.id.startswith("STRUCT-")])
    result.assert_outcomes(passed=1 + structure, failed=1)
    assert "test_clause[PluginConnector-STRUCT-SIGNATURES] PASSED" in run(
        pytester, "--connector=all", "-k", "PluginConnector and STRUCT-SIGNATURES", "-v").stdout.str()


def test_a_broken_plugin_does_not_break_discovery_in_a_fresh_process(installed_plugins: Path) -> None:
    """Plain ``import flytekit`` raises here (it loads every plugin); discovery must not."""
    code = textwrap.dedent("""
        from conformance.discovery import discover
        for spec, outcome in sorted(discover().items()):
            print(spec, "->", getattr(outcome, "__name__", outcome))
    """)
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           env={"PYTHONPATH": str(installed_plugins), "PATH": ""})
    assert child.returncode == 0, child.stderr
    assert [line for line in child.stdout.splitlines() if "fake_plugin" in line] == [
        "fake_plugin_good.PluginConnector -> PluginConnector",
        "flytekit.plugins:broken -> flytekit plugin 'broken' (fake_plugin_broken) failed to import: "
        "ImportError: libfoo.so: cannot open shared object file",
    ]
