"""What ``pytest --connector=X`` collects: the suite's tests, one per connector and clause, and their labels."""

from __future__ import annotations

import os
from typing import Any, cast

import pytest

from conformance.pytest_options import connector_specs, gate_settings

SUITE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suite.py")
_LOADED = pytest.StashKey[dict[str, type | str]]()


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
        from conformance import host
        from conformance.pytest_options import config_from

        host.prestart(config_from(config))  # its flytekit import overlaps our collection
    if any(isinstance(c, type) for c in loaded_connectors(config).values()):
        config.args.append(f"{SUITE_PATH}::TestConnectors")


def _runs_clauses_here(config: pytest.Config) -> bool:
    """False in an xdist controller, which only hands tests to its workers."""
    return is_worker(config) or not config.getoption("numprocesses", None)


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


def label_items(items: list[pytest.Item]) -> None:
    """Connector, clause, level and fact as user properties from collection on, so every report (and
    JUnit's <properties>) says which clause it is, even a setup error."""
    from conformance.report import LOAD

    for item in items:
        params = params_of(item)
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


def params_of(item: pytest.Item) -> dict[str, Any]:
    """A test's parameters; only a parametrized ``pytest.Function`` has a ``callspec``."""
    return getattr(getattr(item, "callspec", None), "params", {})


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")
