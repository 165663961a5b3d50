"""Contract tests and fake backends for Flyte connectors.

    pytest --connector=my_pkg.connector.MyConnector

Library entry points (no pytest needed): :func:`check_connector` with a :class:`Subject`;
for your own test tree: subclass :class:`ConnectorContract`.

Names are imported on first use: the pytest plugin loads this package on every pytest run, and a run
without ``--connector`` must not pay for flytekit and gRPC.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Clause": "conformance.clause", "ClauseFailure": "conformance.clause", "ClauseSkip": "conformance.clause",
    "Level": "conformance.clause", "all_clauses": "conformance.clause",
    "ConformanceConfig": "conformance.config",
    "ConnectorContract": "conformance.contract",
    "ClauseResult": "conformance.run", "Outcome": "conformance.run", "Report": "conformance.run",
    "Subject": "conformance.run", "check_connector": "conformance.run", "run_clause": "conformance.run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
