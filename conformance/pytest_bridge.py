"""What the pytest plugin needs beyond wiring: options to config, parametrization, outcomes to pytest.

Kept apart from ``plugin.py`` so the plugin module stays a list of hooks and fixtures, and so this
logic is importable and testable on its own.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from conformance.report import Row

SUITE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suite.py")
_LOADED = pytest.StashKey[dict[str, type | str]]()
_PROBES = pytest.StashKey[dict[tuple, Any]]()
_GATE = pytest.StashKey["Gate"]()
_ROWS = pytest.StashKey[dict[str, "Row"]]()
_WRITTEN = pytest.StashKey[list[Path]]()


def connector_specs(config: pytest.Config) -> list[str]:
    """--connector values, else the ``connectors`` ini setting; empty means the plugin stays idle."""
    return list(config.getoption("connector") or config.getini("connectors") or [])


def add_suite(config: pytest.Config) -> None:
    """Collect the suite: load checks for every spec, clauses if any connector loaded.

    ``pytest --connector=X`` checks X; the project's own tests (testpaths, current directory) run only
    when paths are also given explicitly.
    """
    if not connector_specs(config):
        return
    gate_settings(config)  # a bad option or waiver table is a usage error before anything runs
    from fake_backends.tls import trust

    trust()  # before any connector imports its HTTP stack: aiohttp reads the CA bundle at import
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args[:] = []
    config.args.append(f"{SUITE_PATH}::test_connector_loads")
    if _runs_clauses_here(config):
        from conformance import fresh_process

        fresh_process.prestart()  # its flytekit import overlaps ours, so META-FRESH-PROCESS need not wait
    if any(isinstance(c, type) for c in loaded_connectors(config).values()):
        config.args.append(f"{SUITE_PATH}::TestConnectors")


def _runs_clauses_here(config: pytest.Config) -> bool:
    """False in an xdist controller, which only hands tests to its workers."""
    return _is_worker(config) or not config.getoption("numprocesses", None)


def _dest(option: str) -> str:
    """The dest and ini key of ``--connector-<option>``: ``connector_<option>`` with underscores."""
    return "connector_" + option.replace("-", "_")


def add_config_options(group: Any, parser: pytest.Parser) -> None:
    """One ``--connector-<option>`` flag and one ``connector_<option>`` ini key per ConformanceConfig knob."""
    from conformance.config import knobs, option_name

    for knob in knobs():
        name = option_name(knob)
        help = f"{knob.metadata['help']} (default {knob.default})"
        dest = _dest(name)
        if knob.type in (bool, "bool"):
            group.addoption(f"--connector-{name}", dest=dest, action="store_true", default=None, help=help)
        else:
            group.addoption(f"--connector-{name}", dest=dest, default=None, help=help)
        parser.addini(dest, default=None, help=help)


def add_gate_options(group: Any, parser: pytest.Parser) -> None:
    """Options of the CI gate itself (not of a clause run), with the same flag/ini naming as the knobs."""
    from conformance.gate import VALID_FAIL_ON

    gate_options = {
        "report": "write the connector x clause table to PATH.json and PATH.md (Markdown for a PR comment)",
        "fail-on": f"levels whose failures fail the run: {VALID_FAIL_ON}",
    }
    for name, help in gate_options.items():
        dest = _dest(name)
        group.addoption(f"--connector-{name}", dest=dest, default=None, metavar="VALUE", help=help)
        parser.addini(dest, default=None, help=help)


def option_or_ini(config: pytest.Config, dest: str) -> Any:
    """The command-line value, else the ini value; None or "" when neither is set."""
    value = config.getoption(dest)
    return config.getini(dest) if value is None else value


def config_from(config: pytest.Config) -> Any:
    """ConformanceConfig from the command line, then the ini file, then the defaults."""
    from conformance.config import ConformanceConfig, knobs, option_name

    values = {}
    for knob in knobs():
        dest = _dest(option_name(knob))
        value = option_or_ini(config, dest)
        if value not in (None, ""):
            values[knob.name] = _parse(dest, value, type(knob.default))
    return ConformanceConfig(**values)


@dataclass(frozen=True)
class Gate:
    fail_on: frozenset[Any]
    fail_on_text: str
    waivers: dict[str, dict[str, str]]


def gate_settings(config: pytest.Config) -> Gate:
    """Levels that fail the run and the rootdir's waivers, validated once per session."""
    if _GATE not in config.stash:
        config.stash[_GATE] = _read_gate(config)
    return config.stash[_GATE]


def _read_gate(config: pytest.Config) -> Gate:
    from conformance.clause import all_clauses
    from conformance.clauses.fuzzing import profile
    from conformance.gate import DEFAULT_FAIL_ON, fail_on_text, parse_fail_on
    from conformance.waivers import WaiverError, load_waivers

    text = option_or_ini(config, "connector_fail_on") or DEFAULT_FAIL_ON
    try:
        profile(config_from(config).fuzz_profile)
        fail_on = parse_fail_on(text)
        waivers = load_waivers(config.rootpath / "pyproject.toml", {c.id for c in all_clauses()})
    except (ValueError, WaiverError) as exc:
        raise pytest.UsageError(str(exc)) from None
    return Gate(fail_on, fail_on_text(fail_on), waivers)


def _parse(dest: str, value: Any, kind: type) -> Any:
    if kind is bool:
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    try:
        return kind(value)
    except ValueError:
        raise pytest.UsageError(f"{dest}: {value!r} is not a {kind.__name__}") from None


def loaded_connectors(config: pytest.Config) -> dict[str, type | str]:
    """Each spec mapped to its class or to the one-line reason it could not be loaded (once per session)."""
    if _LOADED not in config.stash:
        from conformance.discovery import ALL, discover
        from conformance.loading import ConnectorLoadError, load_connector_class

        loaded: dict[str, type | str] = {}
        for spec in connector_specs(config):
            if spec == ALL:
                loaded.update(discover())
                continue
            try:
                loaded[spec] = load_connector_class(spec)
            except ConnectorLoadError as exc:
                loaded[spec] = str(exc)
        config.stash[_LOADED] = loaded
    return config.stash[_LOADED]


def parametrize(metafunc: pytest.Metafunc) -> None:
    """Connector first, then clause, so ids read ``[MyConnector-DELETE-TWICE]``."""
    from conformance.suite import TestConnectors

    if "connector_spec" in metafunc.fixturenames:
        specs = list(loaded_connectors(metafunc.config))
        metafunc.parametrize("connector_spec", specs, ids=specs)
    if metafunc.cls is TestConnectors and "connector_class" in metafunc.fixturenames:
        classes = [c for c in loaded_connectors(metafunc.config).values() if isinstance(c, type)]
        metafunc.parametrize("connector_class", classes, ids=[c.__name__ for c in classes], indirect=True)
    if "conformance_clause" in metafunc.fixturenames:
        from conformance.clause import all_clauses

        clauses = all_clauses()
        metafunc.parametrize("conformance_clause", clauses, ids=[c.id for c in clauses])


def connector_class(request: pytest.FixtureRequest) -> type:
    if hasattr(request, "param"):
        return request.param
    declared = getattr(request.cls, "connector", None)
    if declared is None:
        pytest.fail(f"{request.cls.__name__} must set `connector = MyConnector`", pytrace=False)
    from conformance.loading import ConnectorLoadError, validate_connector_class

    try:
        return validate_connector_class(declared, f"{request.cls.__name__}.connector")
    except ConnectorLoadError as exc:
        pytest.fail(str(exc), pytrace=False)


def load_or_fail(config: pytest.Config, spec: str) -> None:
    """Pass for a loaded class, skip for a connector found but not checkable, fail with the reason otherwise."""
    from conformance.discovery import Uncheckable

    outcome = loaded_connectors(config)[spec]
    if isinstance(outcome, Uncheckable):
        pytest.skip(outcome)
    if isinstance(outcome, str):
        pytest.fail(outcome, pytrace=False)


@contextlib.contextmanager
def started_job_service(template: Any | None) -> Iterator[Any]:
    from conformance.task import as_template_pb, default_template, sample_outputs
    from fake_backends import serve_jobs

    template_pb = default_template("any", 0) if template is None else as_template_pb(template)
    with serve_jobs(default_outputs=sample_outputs(template_pb)) as server:
        yield server


def speaks_job_api(connector_class: type) -> bool:
    """Connectors that declare ``conformance_backend = "jobs"`` take ``base_url=`` and are bound automatically."""
    return getattr(connector_class, "conformance_backend", None) == "jobs"


def bound_backend(request: pytest.FixtureRequest, connector_class: type) -> Any | None:
    """A binding's fake, else the generic job service for connectors that speak it, else None."""
    bound = request.getfixturevalue("connector_bound")
    if bound is not None:
        return bound.backend
    return request.getfixturevalue("fake_job_service") if speaks_job_api(connector_class) else None


def default_factory(connector_class: type, backend: Any | None) -> Any:
    if backend is not None and speaks_job_api(connector_class):
        return functools.partial(connector_class, base_url=backend.url)
    return connector_class


def run_and_report(clause: Any, subject: Any, service: Any, config: Any, request: pytest.FixtureRequest) -> None:
    """Run one clause, unless the connector's probe decides it: a broken setup step is reported once."""
    from conformance.run import run_clause

    probe = _probe_for(request, subject)
    result = probe.decide(clause, subject, service.runtime, config) or run_clause(clause, subject,
                                                                                 service.runtime(), config)
    report(result, subject.name, request)


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
                    and "conformance_clause" in (params := _params(item))]
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
        Status.WAIVED: f"waived: {waiver}",
        Status.WARN: f"{clause.level.value} failure, not gating (fail on: {gate.fail_on_text})\n{failure}",
        Status.STALE: f"STALE waiver: {connector} passes {clause.id} now; delete {clause.id} from "
                      f"[tool.connector-conformance.waivers.{connector}] in pyproject.toml (it said: {waiver})",
    }
    request.node.user_properties += [("status", status.value), ("detail", details.get(status, ""))]
    if status is Status.FAIL:
        pytest.fail(failure, pytrace=False)
    if status in (Status.STALE, Status.ERROR):
        pytest.fail(details[status], pytrace=False)
    if status in (Status.SKIP, Status.BLOCKED):
        pytest.skip(f"{clause.id}: {result.message}")
    if status in (Status.WAIVED, Status.WARN):
        pytest.xfail(f"{clause.id} {status.value} ({details[status].splitlines()[0]})")


def teststatus(test_report: pytest.TestReport) -> tuple | None:
    """A harness error is pytest's ERROR, not a FAIL: it says nothing about the connector."""
    if test_report.when == "call" and test_report.failed and ("status", "ERROR") in test_report.user_properties:
        return "error", "E", "ERROR"
    return None


def label_items(items: list[pytest.Item]) -> None:
    """Connector, clause, level and fact as user properties from collection on, so every report (and
    JUnit's <properties>) says which clause it is, even a setup error."""
    from conformance.report import LOAD

    for item in items:
        params = _params(item)
        if "conformance_clause" in params:
            clause = params["conformance_clause"]
            # cast: only a parametrized test function (a pytest.Function) carries conformance_clause
            connector = params.get("connector_class") or getattr(cast(pytest.Function, item).cls, "connector", None)
            item.user_properties += [("connector", getattr(connector, "__name__", repr(connector))),
                                     ("clause", clause.id), ("level", clause.level.value), ("fact", clause.fact)]
        elif "connector_spec" in params:
            loaded = loaded_connectors(item.config)[params["connector_spec"]]
            name = loaded.__name__ if isinstance(loaded, type) else params["connector_spec"]
            item.user_properties += [("connector", name), ("clause", LOAD)]


def _params(item: pytest.Item) -> dict[str, Any]:
    """A test's parameters; only a parametrized ``pytest.Function`` has a ``callspec``."""
    return getattr(getattr(item, "callspec", None), "params", {})


def record(config: pytest.Config, test_report: pytest.TestReport) -> None:
    """Keep the latest telling phase of each conformance test as a table row (controller side)."""
    from conformance.report import row_from

    rows = config.stash.setdefault(_ROWS, {})
    if test_report.when == "call" or test_report.outcome != "passed" or test_report.nodeid not in rows:
        # cast: the properties row_from reads (connector, clause, level, fact, status, detail, notes) are set
        # by label_items and report, always as str; pytest types user_properties' values as object.
        properties = cast("dict[str, str]", dict(test_report.user_properties))
        row = row_from(properties, test_report.outcome, _reason(test_report))
        if row is not None:
            rows[test_report.nodeid] = row


def _reason(test_report: pytest.TestReport) -> str:
    """A skip's reason (pytest keeps it as a (path, line, reason) tuple), else the failure text."""
    if isinstance(test_report.longrepr, tuple):
        return test_report.longrepr[2].removeprefix("Skipped: ")
    return test_report.longreprtext


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def write_report(config: pytest.Config) -> None:
    """``--connector-report=PATH``: PATH.json and PATH.md, written by the controller only."""
    stem = option_or_ini(config, "connector_report")
    if not stem or _is_worker(config) or _ROWS not in config.stash:
        return
    from conformance.report import write

    rows = list(config.stash[_ROWS].values())
    config.stash[_WRITTEN] = write(str(Path(config.invocation_params.dir) / stem), rows,
                                   gate_settings(config).fail_on_text)


def summarize(terminal: Any, config: pytest.Config) -> None:
    """The connector x clause table after the run, with a line per skip, waiver and warning."""
    rows = list(config.stash.get(_ROWS, {}).values())
    if not rows or _is_worker(config):
        return
    from conformance.report import terminal_lines

    terminal.write_sep("=", "connector conformance")
    for line in terminal_lines(rows, gate_settings(config).fail_on_text):
        terminal.write_line(line)
    for path in config.stash.get(_WRITTEN, []):
        terminal.write_line(f"report written to {path}")
