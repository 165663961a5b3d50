"""What ``pytest --connector=X`` collects: the suite's tests, one per connector and clause, and their labels."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import pytest

from conformance.pytest_options import connector_specs, gate_settings

SUITE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suite.py")
_LOADED = pytest.StashKey[dict[str, type | str]]()
_NAMES = pytest.StashKey[dict[str, str]]()


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
    check_waiver_names(config)
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args[:] = []
    if _rerun_suite_ids(config):
        return  # ids printed by an earlier run: run those, not the whole suite
    config.args.append(f"{SUITE_PATH}::test_connector_loads")
    if _runs_clauses_here(config):
        # not `from conformance import host`: after pytester drops the module from sys.modules, that would
        # find the old module on the package and start a host the new one never ends
        from conformance.host import prestart
        from conformance.pytest_options import config_from

        prestart(config_from(config))  # its flytekit import overlaps our collection
    if any(isinstance(c, type) for c in loaded_connectors(config).values()):
        config.args.append(f"{SUITE_PATH}::TestConnectors")


def _rerun_suite_ids(config: pytest.Config) -> bool:
    """Point the suite's node ids, as the summary prints them, back at the suite; True if there were any.

    The suite module lives outside the user's rootdir (site-packages), so pytest names its tests from the
    path given on the command line: ``::TestConnectors::test_clause[X-DELETE-TWICE]`` (or
    ``conformance/suite.py::...`` from a checkout). Neither path is one pytest can find from the user's
    directory, so without this an id copied from the summary could not be passed back to rerun one clause.
    """
    rewritten = [_suite_arg(arg, config.invocation_params.dir) for arg in config.args]
    config.args[:] = [new or arg for arg, new in zip(config.args, rewritten)]
    return any(rewritten)


def _suite_arg(arg: str, invocation_dir: Path) -> str | None:
    path, sep, rest = arg.partition("::")
    addresses_suite = sep and (not path or os.path.abspath(invocation_dir / path) == SUITE_PATH)
    return f"{SUITE_PATH}::{rest}" if addresses_suite else None


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


def connector_names(config: pytest.Config) -> dict[str, str]:
    """Each spec's connector name, in test ids, user properties, rows and waiver tables alike.

    The class name, module-qualified for classes that share one (two plugins' ``BatchConnector`` stay two
    columns); a spec that did not load keeps its text. The same class given twice is one connector.
    """
    if _NAMES not in config.stash:
        loaded = loaded_connectors(config)
        short = {spec: outcome.__name__ if isinstance(outcome, type) else spec for spec, outcome in loaded.items()}
        owners: dict[str, set] = {}
        for spec, name in short.items():
            owners.setdefault(name, set()).add(loaded[spec] if isinstance(loaded[spec], type) else spec)
        config.stash[_NAMES] = {spec: _qualified(outcome) if isinstance(outcome, type) and len(owners[name]) > 1
                                else name for (spec, name), outcome in zip(short.items(), loaded.values())}
    return config.stash[_NAMES]


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _class_names(config: pytest.Config) -> dict[type, str]:
    """Each loaded class (once, however many specs name it) and its connector name, in the order given."""
    names = connector_names(config)
    classes: dict[type, str] = {}
    for spec, outcome in loaded_connectors(config).items():
        if isinstance(outcome, type):
            classes.setdefault(outcome, names[spec])
    return classes


def suite_labels(config: pytest.Config) -> dict[str, dict[str, str]]:
    """The labels of every test the suite can collect, by its last node-id segment (``test_clause[X-ID]``):
    an xdist controller collects nothing, yet must know what each id its workers collected stands for."""
    from conformance.clause import all_clauses
    from conformance.report import LOAD

    labels = {f"test_connector_loads[{spec}]": {"connector": name, "clause": LOAD}
              for spec, name in connector_names(config).items()}
    for name in _class_names(config).values():
        labels.update({f"test_clause[{name}-{clause.id}]": _labels(name, clause) for clause in all_clauses()})
    return labels


def _labels(connector: str, clause: Any) -> dict[str, str]:
    return {"connector": connector, "clause": clause.id, "level": clause.level.value, "fact": clause.fact}


def check_waiver_names(config: pytest.Config) -> None:
    """A waiver table under a misspelt connector name would waive nothing, silently: a usage error when the
    name is close to a connector of this run (tables for connectors not in this run are only remarked)."""
    from conformance.waivers import misspelt

    message = misspelt(gate_settings(config).waivers, list(connector_names(config).values()))
    if message:
        raise pytest.UsageError(message)


def unused_waivers(config: pytest.Config, seen: list[str]) -> list[str]:
    from conformance.waivers import unused

    return unused(gate_settings(config).waivers, [*connector_names(config).values(), *seen])


def parametrize(metafunc: pytest.Metafunc) -> None:
    """Connector first, then clause, so ids read ``[MyConnector-DELETE-TWICE]``."""
    from conformance.suite import TestConnectors

    if "connector_spec" in metafunc.fixturenames:
        specs = list(loaded_connectors(metafunc.config))
        metafunc.parametrize("connector_spec", specs, ids=specs)
    if metafunc.cls is TestConnectors and "connector_class" in metafunc.fixturenames:
        classes = _class_names(metafunc.config)
        metafunc.parametrize("connector_class", list(classes), ids=list(classes.values()), indirect=True)
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
            # cast: only a parametrized test function (a pytest.Function) carries conformance_clause
            connector = params.get("connector_class") or getattr(cast(pytest.Function, item).cls, "connector", None)
            name = _class_names(item.config).get(cast(type, connector)) or str(getattr(connector, "__name__",
                                                                                     repr(connector)))
            item.user_properties += list(_labels(name, params["conformance_clause"]).items())
        elif "connector_spec" in params:
            item.user_properties += [("connector", connector_names(item.config)[params["connector_spec"]]),
                                     ("clause", LOAD)]


def connector_name(request: pytest.FixtureRequest) -> str | None:
    """The connector name label_items gave this test (None outside the suite)."""
    return dict(request.node.user_properties).get("connector")


def params_of(item: pytest.Item) -> dict[str, Any]:
    """A test's parameters; only a parametrized ``pytest.Function`` has a ``callspec``."""
    return getattr(getattr(item, "callspec", None), "params", {})


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")
