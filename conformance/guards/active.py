"""The guards active while one clause runs, and what they recorded for the guard clauses to judge.

Entered by ``run_clause`` around the whole clause run: secret lookups answer canaries, non-loopback
connections are refused, and once the connector is built the loop watchdog records its stalls. Every
clause is protected; the guard clauses (``conformance/clauses/guards.py``) turn the records into
failures, and other clauses that pass carry them as notes.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, List, Optional

from conformance.config import ConformanceConfig
from conformance.guards.frames import ConnectorCode
from conformance.guards.loop_watch import LoopWatch, Stall
from conformance.guards.net_egress import EgressGuard
from conformance.guards.secret_canary import SecretCanaries


class ActiveGuards:
    def __init__(self, loop_watch: LoopWatch, config: ConformanceConfig):
        self.loop_watch = loop_watch
        self.config = config
        self.code: Optional[ConnectorCode] = None
        self.stalls: List[Stall] = []
        self.canaries = SecretCanaries()
        self.egress: Optional[EgressGuard] = None if config.allow_network else EgressGuard()
        self._stack: Optional[contextlib.ExitStack] = None
        self.routes_before = _routes()
        """flytekit's routing table before the harness installs this clause's connector: as production has it."""

    def __enter__(self) -> "ActiveGuards":
        self._stack = contextlib.ExitStack()
        self._stack.callback(_restore_routes, self.routes_before)
        self._stack.enter_context(self.canaries)
        if self.egress is not None:
            self._stack.enter_context(self.egress)
        return self

    def __exit__(self, *exc_info: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def connector_built(self, connector: Any) -> None:
        """Start watching the loop for this connector's code (once: every instance has the same class)."""
        if self.code is None:
            self.code = ConnectorCode(type(connector))
            if self._stack is not None:
                self.stalls = self._stack.enter_context(self.loop_watch.recording(self.code, self.config.loop_stall))

    def notes(self) -> List[str]:
        """What a passing clause should still tell the author (the guard clauses fail on these)."""
        if self.code is None:
            return []
        notes = [f"LOOP-BLOCKING: {stall}" for stall in self.stalls]
        if self.egress is not None:
            notes += [f"NET-EGRESS: refused {attempt.render(self.code)}" for attempt in self.egress.attempts]
        return notes


def _routes() -> Dict[Any, Any]:
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    return dict(ConnectorRegistry._REGISTRY)


def _restore_routes(routes: Dict[Any, Any]) -> None:
    """Undo the harness's installs, so the next clause (and STRUCT-TASK-TYPE-FREE) sees production's registry."""
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    ConnectorRegistry._REGISTRY.clear()
    ConnectorRegistry._REGISTRY.update(routes)
