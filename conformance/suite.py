"""The tests ``pytest --connector=...`` adds: a load check per connector, then every clause."""

from __future__ import annotations

from conformance.contract import ConnectorContract


def test_connector_loads(connector_spec: str, pytestconfig) -> None:
    """The --connector value names an importable async connector class."""
    from conformance.pytest_collection import load_or_fail

    load_or_fail(pytestconfig, connector_spec)


class TestConnectors(ConnectorContract):
    """Parametrized by the plugin with every class given to --connector."""
