"""What the pytest plugin needs beyond wiring: options to config, parametrization, outcomes to pytest.

Kept apart from ``plugin.py`` so the plugin module stays a list of hooks and fixtures, and so this
logic is importable and testable on its own.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from typing import Any, Dict, Iterator, List, Optional, Union

import pytest

SUITE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suite.py")
_LOADED = pytest.StashKey[Dict[str, Union[type, str]]]()
_UNBUILDABLE = pytest.StashKey[Dict[str, str]]()


def connector_specs(config: pytest.Config) -> List[str]:
    """--connector values, else the ``connectors`` ini setting; empty means the plugin stays idle."""
    return list(config.getoption("connector") or config.getini("connectors") or [])


def add_suite(config: pytest.Config) -> None:
    """Collect the suite: load checks for every spec, clauses if any connector loaded.

    ``pytest --connector=X`` checks X; the project's own tests (testpaths, current directory) run only
    when paths are also given explicitly.
    """
    if not connector_specs(config):
        return
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args[:] = []
    config.args.append(f"{SUITE_PATH}::test_connector_loads")
    if any(isinstance(c, type) for c in loaded_connectors(config).values()):
        config.args.append(f"{SUITE_PATH}::TestConnectors")


def add_config_options(group: Any, parser: pytest.Parser) -> None:
    """One ``--connector-<option>`` flag and one ``connector_<option>`` ini key per ConformanceConfig knob."""
    from conformance.config import knobs

    for knob in knobs():
        name = knob.metadata["option"]
        help = f"{knob.metadata['help']} (default {knob.default})"
        dest = "connector_" + name.replace("-", "_")
        if knob.type in (bool, "bool"):
            group.addoption(f"--connector-{name}", dest=dest, action="store_true", default=None, help=help)
        else:
            group.addoption(f"--connector-{name}", dest=dest, default=None, help=help)
        parser.addini(dest, default=None, help=help)


def config_from(config: pytest.Config) -> Any:
    """ConformanceConfig from the command line, then the ini file, then the defaults."""
    from conformance.config import ConformanceConfig, knobs

    values = {}
    for knob in knobs():
        dest = "connector_" + knob.metadata["option"].replace("-", "_")
        value = config.getoption(dest)
        if value is None:
            value = config.getini(dest)
        if value not in (None, ""):
            values[knob.name] = _parse(dest, value, type(knob.default))
    return ConformanceConfig(**values)


def _parse(dest: str, value: Any, kind: type) -> Any:
    if kind is bool:
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    try:
        return kind(value)
    except ValueError:
        raise pytest.UsageError(f"{dest}: {value!r} is not a {kind.__name__}") from None


def loaded_connectors(config: pytest.Config) -> Dict[str, Union[type, str]]:
    """Each spec mapped to its class or to the one-line reason it could not be loaded (once per session)."""
    if _LOADED not in config.stash:
        from conformance.loading import ConnectorLoadError, load_connector_class

        loaded: Dict[str, Union[type, str]] = {}
        for spec in connector_specs(config):
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
    outcome = loaded_connectors(config)[spec]
    if isinstance(outcome, str):
        pytest.fail(outcome, pytrace=False)


@contextlib.contextmanager
def started_job_service(template: Optional[Any]) -> Iterator[Any]:
    from fake_backends import serve_jobs

    from conformance.task import as_template_pb, default_template, sample_outputs

    template_pb = default_template("any", 0) if template is None else as_template_pb(template)
    with serve_jobs(default_outputs=sample_outputs(template_pb)) as server:
        yield server


def speaks_job_api(connector_class: type) -> bool:
    """Connectors that declare ``conformance_backend = "jobs"`` take ``base_url=`` and are bound automatically."""
    return getattr(connector_class, "conformance_backend", None) == "jobs"


def bound_backend(request: pytest.FixtureRequest, connector_class: type) -> Optional[Any]:
    return request.getfixturevalue("fake_job_service") if speaks_job_api(connector_class) else None


def default_factory(connector_class: type, backend: Optional[Any]) -> Any:
    if backend is not None and speaks_job_api(connector_class):
        return functools.partial(connector_class, base_url=backend.url)
    return connector_class


class ConformanceNote(UserWarning):
    """Something a passing clause wants the author to know (e.g. fields fuzzing had to leave alone)."""


def run_and_report(clause: Any, subject: Any, service: Any, config: Any, request: pytest.FixtureRequest) -> None:
    """Run one clause; a connector whose constructor failed is reported once, its other clauses skipped."""
    from conformance.run import run_clause

    unbuildable = request.config.stash.setdefault(_UNBUILDABLE, {})
    if subject.name in unbuildable:
        pytest.skip(f"{clause.id}: not run, {unbuildable[subject.name]}")
    result = run_clause(clause, subject, service.runtime(), config)
    if result.unbuildable:
        unbuildable[subject.name] = result.message
    report(result, request)


def report(result: Any, request: pytest.FixtureRequest) -> None:
    """Turn a ClauseResult into pytest's outcome, with the clause's ID, level and fact on the report."""
    from conformance.run import Outcome

    clause = result.clause
    request.node.user_properties.extend(
        [("clause", clause.id), ("level", clause.level.value), ("fact", clause.fact)]
    )
    for note in result.notes:
        warnings.warn(ConformanceNote(note))
    header = f"{clause.id} [{clause.level.value}, {clause.fact}] {clause.summary}"
    if result.outcome is Outcome.FAIL:
        pytest.fail(f"{header}\n{result.message}", pytrace=False)
    if result.outcome is Outcome.SKIP:
        pytest.skip(f"{clause.id}: {result.message}")
