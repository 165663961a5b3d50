"""The guards active while one clause runs, and what they saw, for the guard clauses to judge.

Entered by ``run_clause`` around the whole clause run: secret lookups answer canaries, non-loopback
connections are refused, log records are collected, and once the connector is built the loop watchdog
records its stalls, blocking calls on the loop are recorded, everything the instance's methods return or
raise is searched for canaries, and every ``decode()`` of its meta type runs under the audit hook. On
exit, what was seen goes into the connector's :class:`~conformance.guards.evidence.Ledger` as sightings
tagged with the clause: the guard clauses (``conformance/clauses/guards.py``) judge the ledger, so a stall
in a fault clause or a canary in a scripted failure's message fails them, naming that clause. Other
clauses that pass carry what was seen during them as notes.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from conformance.config import ConformanceConfig
from conformance.guards.blocking_calls import BlockingCalls
from conformance.guards.evidence import Ledger, Sighting
from conformance.guards.frames import ConnectorCode, describe
from conformance.guards.loop_watch import LoopWatch, Stall
from conformance.guards.net_egress import EgressGuard
from conformance.guards.observed import observe
from conformance.guards.secret_canary import SecretCanaries, captured_logs, record_text
from conformance.guards.unsafe_metadata import AuditEvent, is_pickle_stream, watching_decode


class ActiveGuards:
    def __init__(self, loop_watch: LoopWatch, config: ConformanceConfig, where: str = "",
                 ledger: Ledger | None = None):
        self.loop_watch = loop_watch
        self.config = config
        self.where = where
        """The clause these guards watch: what a sighting names."""
        self.ledger = ledger if ledger is not None else Ledger()
        self.code: ConnectorCode | None = None
        self.stalls: list[Stall] = []
        self.canaries = SecretCanaries()
        self.egress: EgressGuard | None = None if config.allow_network else EgressGuard()
        self.blocking = BlockingCalls(loop_watch)
        self.sightings: list[Sighting] = []
        self._lock = threading.Lock()
        self._records: list[Any] = []
        self._stack: contextlib.ExitStack | None = None
        self.routes_before = _routes()
        """flytekit's routing table before the harness installs this clause's connector: as production has it."""

    def __enter__(self) -> ActiveGuards:
        self._stack = contextlib.ExitStack()
        self._stack.callback(self._publish)  # runs last: after every guard below has stopped
        self._stack.callback(_restore_routes, self.routes_before)
        self._stack.enter_context(self.canaries)
        if self.egress is not None:
            self._stack.enter_context(self.egress)
        self._records = self._stack.enter_context(captured_logs())
        self._stack.enter_context(self.blocking)
        return self

    def __exit__(self, *exc_info: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def connector_built(self, connector: Any) -> None:
        """Watch this instance's results; the first one also starts the loop and decode watches."""
        observe(connector, self._returned)
        if self.code is not None:
            return
        self.code = self.blocking.code = ConnectorCode(type(connector))
        if self._stack is not None:
            self.stalls = self._stack.enter_context(self.loop_watch.recording(self.code, self.config.loop_stall))
            self._stack.enter_context(watching_decode(getattr(connector, "metadata_type", None), self._decoded))

    def _returned(self, where: str, text: str) -> None:
        self._saw("SECRET-CANARY", self.canaries.leaks(where, text))

    def _decoded(self, data: bytes, events: list[AuditEvent]) -> None:
        self.ledger.decoded += 1
        if is_pickle_stream(data):
            self._add("META-NO-PICKLE", "pickle stream",
                      f"encode() produced a pickle stream, which decode() was given: {data[:48]!r}...")
        code = self.code
        if code is None:  # decode is watched only once connector_built() set the connector's code
            return
        for event in events:
            self._add("META-NO-PICKLE", f"{event.event} {describe(code.innermost(event.stack))}",
                      f"decode() {event.render(code)}")

    def _saw(self, guard: str, texts: list[str]) -> None:
        for text in texts:
            self._add(guard, text, text)

    def _add(self, guard: str, site: str, what: str, once_is_noise: bool = False) -> None:
        with self._lock:
            self.sightings.append(Sighting(guard, self.where, site, what, once_is_noise))

    def _publish(self) -> None:
        """Hand what was seen to the ledger, once every guard stopped (logs and late results included)."""
        for record in list(self._records):
            self._saw("SECRET-CANARY", self.canaries.leaks(f"a log record of {record.name}", record_text(record)))
        for stall in list(self.stalls):
            self._add("LOOP-BLOCKING", f"{stall.frame[0]}:{stall.frame[1]}", str(stall), once_is_noise=True)
        for call in list(self.blocking.calls):
            self._add("LOOP-BLOCKING", f"{call.frame[0]}:{call.frame[1]}", str(call))
        if self.egress is not None and self.code is not None:
            for attempt in list(self.egress.attempts):
                self._add("NET-EGRESS", attempt.destination, f"refused {attempt.render(self.code)}")
        self.ledger.add(self.sightings)
        if self.where:
            self.ledger.watched.add(self.where)

    def notes(self) -> list[str]:
        """What a passing clause should still tell the author (the guard clauses fail on these)."""
        return list(dict.fromkeys(f"{sighting.guard}: {sighting.what}" for sighting in self.sightings))


def _routes() -> dict[Any, Any]:
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    return dict(ConnectorRegistry._REGISTRY)


def _restore_routes(routes: dict[Any, Any]) -> None:
    """Undo the harness's installs, so the next clause (and STRUCT-TASK-TYPE-FREE) sees production's registry."""
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    ConnectorRegistry._REGISTRY.clear()
    ConnectorRegistry._REGISTRY.update(routes)
