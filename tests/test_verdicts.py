"""Verdicts you can trust, end to end: one setup cause is one report, harness trouble is an ERROR (never
the connector's FAIL), SHOULD failures do not fail a default run, and notes are no warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.clause import Needs, all_clauses

VERDICTS = "broken.verdicts"
PROJECT_TEMPLATE = """
import pytest
from conformance.reference import TASK_TYPE
from conformance.task import default_template

@pytest.fixture
def connector_task_template():
    template = default_template(TASK_TYPE, 0)
    template.custom.update({"ProjectID": "conformance"})
    return template
"""


def _needing(step: Needs) -> int:
    return len([c for c in all_clauses() if c.needs >= step])


def _before_captured_output(report: str) -> str:
    return report.split("- Captured")[0]


def test_create_raising_on_the_default_template_is_reported_once_with_the_fix(run_suite, failure_report) -> None:
    run = run_suite(f"{VERDICTS}.NeedsProjectID")
    assert run.failed() == {"META-CREATE-TYPE"}, run.output
    report = failure_report(run.output, "META-CREATE-TYPE")
    for text in ("setup failed, reported here once for every clause that needs it: create() raised KeyError: "
                 "'ProjectID' (at verdicts.py:", "on the suite's default template (x: int -> y: int, no custom config)",
                 "override the `connector_task_template` and `connector_inputs` fixtures in conftest.py",
                 'template.custom.update({...})  # the config your tasks carry, e.g. "ProjectID"'):
        assert text in report, report
    assert "six failed GetTask" not in run.output
    blocked = f"{_needing(Needs.CREATE) - 1} cells: NeedsProjectID: "
    assert blocked in run.output and "BLOCKED: blocked: create() raised KeyError: 'ProjectID'" in run.output


def test_the_same_connector_given_its_template_passes(run_suite, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(PROJECT_TEMPLATE)
    run = run_suite(f"{VERDICTS}.NeedsProjectID")
    assert run.ret == 0, run.output
    assert "BLOCKED" not in run.output


def test_create_returning_none_is_one_meta_create_type_failure(run_suite, failure_report) -> None:
    run = run_suite(f"{VERDICTS}.CreateReturnsNone")
    assert run.failed() == {"META-CREATE-TYPE"}, run.output
    report = _before_captured_output(failure_report(run.output, "META-CREATE-TYPE"))
    assert "create() returned NoneType: None" in report and "AttributeError" not in report
    assert f"{_needing(Needs.META)} cells: CreateReturnsNone: " in run.output
    assert "BLOCKED: blocked: create() returned NoneType None, which has no encode() (reported once, under " \
           "META-CREATE-TYPE)" in run.output


def test_a_meta_over_the_wire_limit_is_meta_size_once(run_suite) -> None:
    run = run_suite(f"{VERDICTS}.MetaOverTheWire", "-k", "not FRESH and not FUZZ")
    assert run.failed() == {"META-SIZE"}, run.output
    assert "CreateTask failed with RESOURCE_EXHAUSTED" in run.output
    assert "(reported once, under META-SIZE)" in run.output


def test_a_hanging_get_is_phase_terminates_once(run_suite, failure_report) -> None:
    run = run_suite(f"{VERDICTS}.GetHangs", "--connector-deadline=0.5", "-k", "PHASE or DELETE or BACKEND")
    assert run.failed() == {"PHASE-TERMINATES"}, run.output
    assert "GetTask did not return within 0.5 s" in failure_report(run.output, "PHASE-TERMINATES")
    assert "blocked: GetTask did not return within 0.5 s (reported once, under PHASE-TERMINATES)" in run.output


def test_without_the_owning_clause_the_first_selected_one_reports_the_cause(run_suite) -> None:
    run = run_suite(f"{VERDICTS}.GetHangs", "--connector-deadline=0.5", "-k", "DELETE-TWICE or PHASE-OUTPUTS")
    assert run.failed() == {"PHASE-OUTPUTS"}, run.output
    assert "(reported once, under PHASE-OUTPUTS)" in run.output


def test_one_report_under_xdist_too(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xdist")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # for broken.verdicts in the workers
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2",
                                           f"--connector={VERDICTS}.NeedsProjectID", "-k", "META or PHASE")
    result.stdout.fnmatch_lines(["*setup failed, reported here once*"])
    assert result.parseoutcomes()["failed"] == 1


def test_check_connector_reports_a_setup_cause_once_too() -> None:
    from broken.verdicts import NeedsProjectID

    from conformance import Subject, check_connector
    from conformance.run import Outcome
    from fake_backends import serve_jobs

    clauses = [c for c in all_clauses() if c.family in ("structure", "metadata", "phases")]
    with serve_jobs() as backend:
        report = check_connector(Subject("NeedsProjectID", lambda: NeedsProjectID(backend.url), backend=backend),
                                 clauses=clauses)
    outcomes = {r.clause.id: r.outcome for r in report.results}
    assert [c for c, o in outcomes.items() if o is Outcome.FAIL] == ["META-CREATE-TYPE"]
    assert {c for c, o in outcomes.items() if o is Outcome.BLOCKED} == {
        c.id for c in clauses if c.needs >= Needs.CREATE} - {"META-CREATE-TYPE"}
    assert not report.passed


HARNESS_BUG = """
import pytest
from conformance.run import ClauseRun

@pytest.fixture(autouse=True)
def suite_bug(monkeypatch):
    def broken(self):
        raise RuntimeError("a bug in the suite")
    monkeypatch.setattr(ClauseRun, "create_direct", broken)
"""


def test_a_harness_error_is_a_pytest_error_with_what_a_bug_report_needs(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(HARNESS_BUG)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--connector=conformance.reference."
                                          "ReferenceConnector", "-k", "META-CREATE-TYPE", "--connector-report=out")
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*HARNESS ERROR: the conformance suite itself failed (RuntimeError: a bug in the suite); this says nothing "
        "about the connector*",
        "versions: python *, flytekit *, hypothesis *",
        "META-CREATE-TYPE *MUST *ERROR*",
        "ReferenceConnector META-CREATE-TYPE ERROR: HARNESS ERROR*",
    ])
    document = json.loads((pytester.path / "out.json").read_text())
    assert document["passed"] is False and document["totals"] == {"ERROR": 1}


def test_should_failures_do_not_fail_a_default_run(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--connector={VERDICTS}.EmptyTupleLabels",
                                          "-k", "ROUNDTRIP or FUZZ")
    assert result.ret == 0
    result.assert_outcomes(passed=2, xfailed=1)
    result.stdout.fnmatch_lines(["META-ROUNDTRIP *MUST *PASS*", "META-ROUNDTRIP-EXACT *SHOULD *WARN*",
                                 "*META-ROUNDTRIP-EXACT WARN: meta.labels: expected tuple (), got list []"])


def test_notes_are_a_report_section_and_a_summary_line_not_warnings(pytester: pytest.Pytester) -> None:
    # (the rewrite warning: the outer pytest already imported the plugin this in-process run loads)
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n    ignore::pytest.PytestAssertRewriteWarning\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--connector={VERDICTS}.ResourcesInMeta",
                                          "-k", "META-FUZZ", "-rP")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "*Captured conformance notes call*",
        "META-FUZZ: drawn values some constructors refused were skipped (meta.resources: Resources(...) raised *",
        "ResourcesInMeta META-FUZZ note: META-FUZZ: drawn values some constructors refused were skipped*",
    ])


def test_the_fresh_process_decoder_ignores_what_connector_modules_print(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--connector=broken.noisy_import.NoisyImport",
                                          "-k", "META-FRESH-PROCESS")
    result.assert_outcomes(passed=1)


def test_a_connector_replacing_asyncio_sleep_gets_no_harness_tracebacks(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--connector={VERDICTS}.PatchesSleep",
                                          "-k", "PHASE or DELETE")
    result.assert_outcomes(passed=len([c for c in all_clauses() if c.family in ("phases", "deletion")]))
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["* cells: PatchesSleep: * note: asyncio.sleep was replaced by connector code*"])
