"""The subclass style: put the suite into your own test tree, like fsspec's abstract tests.

    from conformance import ConnectorContract
    from my_pkg.connector import MyConnector

    class TestMyConnector(ConnectorContract):
        connector = MyConnector

Fixtures (``connector_factory``, ``connector_task_template``, ...) are overridden as usual, in the
class or in ``conftest.py``.
"""

from __future__ import annotations

from typing import Any


class ConnectorContract:
    """Every clause, one test each, for the class in ``connector``."""

    connector: type | None = None

    def test_clause(self, conformance_clause: Any, connector_subject: Any, connector_service: Any,
                    connector_config: Any, request: Any) -> None:
        from conformance import pytest_outcomes

        pytest_outcomes.run_and_report(conformance_clause, connector_subject, connector_service, connector_config,
                                     request)
