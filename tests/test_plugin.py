"""The plugin end to end: entry, options, the subclass style, fixture overrides, and bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conformance.clause import all_clauses

REFERENCE = "conformance.reference.ReferenceConnector"
CLAUSE_COUNT = len(all_clauses())

BAD_CONNECTORS = '''
import sys, time
from dataclasses import dataclass
from flytekit.extend.backend.base_connector import AsyncConnectorBase, Resource, ResourceMeta
from flyteidl.core.execution_pb2 import TaskExecution


@dataclass
class Meta(ResourceMeta):
    job_id: str


class Base(AsyncConnectorBase):
    def __init__(self):
        super().__init__(task_type_name=type(self).__name__.lower(), metadata_type=Meta)

    async def create(self, task_template, output_prefix, inputs=None, **kwargs):
        return Meta("j1")

    async def get(self, resource_meta, **kwargs):
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"y": 1})

    async def delete(self, resource_meta, **kwargs):
        pass


class NoCredentials(Base):
    def __init__(self):
        raise RuntimeError("no credentials configured")


class Exits(Base):
    async def get(self, resource_meta, **kwargs):
        sys.exit(3)


class Hangs(Base):
    async def get(self, resource_meta, **kwargs):
        time.sleep(3)  # blocks the service loop, longer than the deadline


class NotAConnector:
    pass
'''


def test_without_connector_the_plugin_adds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_own(): pass")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_import_does_not_load_flytekit_or_grpc() -> None:
    code = "import sys, conformance.plugin; print(sorted(m for m in ('flytekit', 'grpc') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_reference_from_an_empty_directory_with_colon_syntax(run_suite) -> None:
    run = run_suite("conformance.reference:ReferenceConnector", "-v")
    assert run.ret == 0
    assert len(run.outcomes) == CLAUSE_COUNT
    assert "test_clause[ReferenceConnector-DELETE-TWICE] PASSED" in run.output


def test_connectors_ini_setting(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\nconnectors =\n    {REFERENCE}\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "STRUCT or loads")
    result.assert_outcomes(passed=1 + len([c for c in all_clauses() if c.id.startswith("STRUCT-")]))


def test_bad_inputs_each_get_one_line_and_the_rest_still_reports(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(badconn=BAD_CONNECTORS, raises_on_import="raise ImportError('libfoo.so missing')")
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--connector={REFERENCE}", "--connector=nope.mod.Conn",
        "--connector=badconn.Missing", "--connector=badconn.NotAConnector", "--connector=raises_on_import.X",
        "--connector=badconn.NoCredentials",
    )
    result.stdout.fnmatch_lines([
        "*nope.mod.Conn: no module named 'nope' (is it installed?)",
        "*badconn.Missing: module 'badconn' has no attribute 'Missing'",
        "*badconn.NotAConnector: NotAConnector is not a subclass of flytekit's AsyncConnectorBase*",
        "*raises_on_import.X: importing 'raises_on_import' failed: ImportError: libfoo.so missing",
        "*constructing NoCredentials failed: RuntimeError: no credentials configured",
    ])
    assert "Traceback" not in result.stdout.str()
    # the reference's clauses all ran (META-UPGRADE skips: no snapshot directory); the unbuildable connector
    # fails once and its other clauses skip
    result.assert_outcomes(passed=1 + (CLAUSE_COUNT - 1) + 1, failed=4 + 1, skipped=1 + (CLAUSE_COUNT - 1))


def test_unbuildable_connector_fails_once_under_xdist(pytester: pytest.Pytester) -> None:
    """Every worker meets the raising constructor; only the first to do so reports it."""
    pytest.importorskip("xdist")
    pytester.makepyfile(badconn=BAD_CONNECTORS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--connector=badconn.NoCredentials")
    result.stdout.fnmatch_lines(["*constructing NoCredentials failed: RuntimeError: no credentials configured"])
    result.assert_outcomes(passed=1, failed=1, skipped=CLAUSE_COUNT - 1)


def test_hanging_and_exiting_connectors_fail_their_clauses_within_the_deadline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(badconn=BAD_CONNECTORS)
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--connector=badconn.Hangs", "--connector=badconn.Exits",
        f"--connector={REFERENCE}", "--connector-deadline=0.5", "-k", "PHASE-ACCEPTED or loads",
    )
    result.stdout.fnmatch_lines([
        "*observed:*GetTask did not return within 0.5 s",
        "*observed:*GetTask failed with CRASHED: connector code ended the service's event loop: SystemExit: 3"
        " (at badconn.py:* in get)",
    ])
    assert "grpc._cython" not in result.stdout.str() + result.stderr.str()  # no traceback from gRPC's loop either
    result.assert_outcomes(passed=3 + 1, failed=2)


def test_subclass_style_rejects_a_non_connector(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="""
        from conformance import ConnectorContract

        class TestWrong(ConnectorContract):
            connector = dict
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "STRUCT-SIGNATURES")
    result.stdout.fnmatch_lines(["*TestWrong.connector: dict is not a subclass of flytekit's AsyncConnectorBase*"])
    result.assert_outcomes(errors=1)


def test_fixture_overrides_in_conftest(pytester: pytest.Pytester) -> None:
    """A user wires their own construction and task template; an outputs-less template passes PHASE-OUTPUTS."""
    pytester.makeconftest("""
        import pytest
        from conformance.task import default_template
        from conformance.reference import ReferenceConnector, TASK_TYPE

        @pytest.fixture
        def connector_factory(fake_job_service, monkeypatch):
            monkeypatch.setenv("CONFORMANCE_JOBS_URL", fake_job_service.url)
            return ReferenceConnector

        @pytest.fixture
        def connector_task_template():
            template = default_template(TASK_TYPE, 0)
            template.interface.outputs.variables.clear()
            return template
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--connector={REFERENCE}",
                                          "-k", "PHASE-OUTPUTS or PHASE-TERMINAL-STABLE")
    result.assert_outcomes(passed=2)


def test_flytekit_older_than_1_16_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    import flytekit

    from conformance.loading import ConnectorLoadError, load_connector_class

    monkeypatch.setattr(flytekit, "__version__", "1.15.3")
    with pytest.raises(ConnectorLoadError, match=r"flytekit 1.15.3 is not supported: need >= 1.16.0"):
        load_connector_class(REFERENCE)


def test_failure_message_has_expected_observed_consequence_fix_and_transcript(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(badconn=BAD_CONNECTORS + """

class EmptyResource(Base):
    async def get(self, resource_meta, **kwargs):
        return Resource(phase=TaskExecution.UNDEFINED)
""")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--connector=badconn.EmptyResource",
                                          "-k", "PHASE-ACCEPTED")
    result.stdout.fnmatch_lines([
        "PHASE-ACCEPTED [[]MUST, F-PHASE-1[]] Every phase get() answers*",
        "  expected:    phases from *",
        "  observed:    get() answered UNDEFINED",
        "  consequence: UNDEFINED (an empty Resource()) makes the platform read the deprecated state field*",
        "  fix:         *",
        "transcript:",
        "*CreateTask             -> meta * bytes*",
        "*GetTask                -> UNDEFINED*",
    ])


def test_own_tests_run_only_when_paths_are_given(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_zebra(): pass")
    suite_only = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--connector={REFERENCE}", "-k",
                                              "STRUCT-SIGNATURES or zebra")
    suite_only.assert_outcomes(passed=1)
    with_own = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--connector={REFERENCE}", "-k",
                                            "STRUCT-SIGNATURES or zebra", ".")
    with_own.assert_outcomes(passed=2)
