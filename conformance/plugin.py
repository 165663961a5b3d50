"""pytest wiring only: options, the hooks that add the suite, and the documented fixtures.

Loaded through the ``pytest11`` entry point on every pytest run, so it imports nothing heavy: without
``--connector`` (or the ``connectors`` ini setting) it adds no tests and touches no connector code.
The logic lives in plain modules: ``conformance.run`` (pytest-free), and by concern ``pytest_options``,
``pytest_collection``, ``pytest_outcomes`` and ``pytest_table``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance import exit_gc
from conformance import pytest_collection as collection
from conformance import pytest_options as options
from conformance import pytest_outcomes as outcomes
from conformance import pytest_table as table


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("connector-conformance", "Flyte connector conformance suite")
    group.addoption("--connector", action="append", default=[], metavar="DOTTED",
                    help="connector class to check, 'pkg.mod.Class' or 'pkg.mod:Class'; repeatable")
    parser.addini("connectors", type="linelist", default=[],
                  help="connector classes to check when --connector is not given")
    options.add_options(group, parser)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return options.header_lines(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker fuzzes with the seed the controller's header shows."""
    options.share_with_worker(node.config, node.workerinput)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Trust the run's CA before conftests import anything: aiohttp reads the CA bundle when imported."""
    if early_config.known_args_namespace.connector or early_config.getini("connectors"):
        from fake_backends.tls import trust

        trust()


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(ExitGcHooks(config))  # first: counts the session even if set-up fails
    collection.add_suite(config)
    config.pluginmanager.register(GateHooks(config))


def pytest_unconfigure() -> None:
    outcomes.stop_host()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    collection.parametrize(metafunc)


def pytest_collection_modifyitems(items: list) -> None:
    collection.label_items(items)


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport) -> tuple | None:
    return outcomes.teststatus(report)


class ExitGcHooks:
    """Counts this process's open sessions; the outermost suite-only one ends with ``conformance.exit_gc``."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        exit_gc.session_opened()

    @pytest.hookimpl(tryfirst=True)  # before pytest's own collections in its unconfigure and cleanup
    def pytest_unconfigure(self) -> None:
        no_paths = self.config.args_source is not pytest.Config.ArgsSource.ARGS
        exit_gc.session_closed(suite_only=no_paths and bool(options.connector_specs(self.config)))


class GateHooks:
    """The hooks that need the session's config (pytest gives logreport no config): one per session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        table.select_items(self.config, session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        table.select_ids(self.config, ids)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        table.started(self.config, nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        table.record(self.config, report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        table.finish(session, exitstatus)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        table.summarize(terminalreporter, self.config)


@pytest.fixture(scope="session")
def connector_service() -> Iterator[Any]:
    """The embedded connector gRPC service (flytekit's own) on 127.0.0.1; shut down after the session."""
    from conformance.service import ServiceHost

    host = ServiceHost()
    yield host
    host.close()


@pytest.fixture
def connector_config(pytestconfig: pytest.Config) -> Any:
    """Deadlines, budgets and limits from the command line and ini file."""
    return options.config_from(pytestconfig)


@pytest.fixture
def connector_class(request: pytest.FixtureRequest) -> type:
    """The connector class under test: from --connector, or the ``connector`` attribute of a contract class."""
    return collection.connector_class(request)


@pytest.fixture
def connector_task_template() -> Any | None:
    """Override to give a real TaskTemplate (flytekit model or protobuf); None builds a small default."""
    return None


@pytest.fixture
def connector_inputs() -> Any | None:
    """Override to give the task's inputs (LiteralMap, protobuf or dict); None gives the default's x=7."""
    return None


@pytest.fixture
def connector_metadata_strategies() -> dict:
    """Override to map your own metadata field types to hypothesis strategies for META-FUZZ."""
    return {}


@pytest.fixture
def fake_job_service(connector_task_template: Any | None) -> Iterator[Any]:
    """A fresh generic fake job service on 127.0.0.1, answering the task's declared outputs on success."""
    from conformance.backends import started_job_service

    with started_job_service(connector_task_template) as server:
        yield server


@pytest.fixture
def connector_binding(connector_class: type) -> Any | None:
    """The suite's binding for a real plugin's connector class (``conformance.bindings``), or None."""
    from conformance.bindings import binding_for

    return binding_for(connector_class)


@pytest.fixture
def connector_bound(connector_binding: Any | None) -> Iterator[Any | None]:
    """The binding's fake, started, with the template, inputs and environment it gives; None when unbound."""
    from conformance.bindings import bound

    with bound(connector_binding) as parts:
        yield parts


@pytest.fixture
def connector_backend(request: pytest.FixtureRequest, connector_class: type) -> Any | None:
    """The fake backend the connector under test talks to, or None (fault clauses are then skipped)."""
    from conformance.bindings import default_backend

    return default_backend(connector_class, request.getfixturevalue("connector_bound"),
                           lambda: request.getfixturevalue("fake_job_service"))


@pytest.fixture
def connector_factory(connector_class: type, connector_backend: Any | None) -> Any:
    """Override to build your connector (arguments, environment, the fake's URL); called once per instance."""
    from conformance.backends import default_factory

    return default_factory(connector_class, connector_backend)


@pytest.fixture
def connector_subject(connector_class, connector_factory, connector_task_template, connector_inputs,
                      connector_backend, connector_metadata_strategies, connector_bound, request) -> Any:
    """Everything declared about the connector under test, as one object for the library core.

    A bound plugin connector's template, inputs and environment come from its binding unless the
    fixtures give them. Its name is the test id's (module-qualified when two classes share a name)."""
    from dataclasses import replace

    from conformance.bindings import subject

    made = subject(connector_class, connector_factory, connector_task_template, connector_inputs,
                   connector_backend, connector_metadata_strategies, connector_bound)
    return replace(made, name=collection.connector_name(request) or made.name)
