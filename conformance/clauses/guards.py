"""Guards: what connector code does to the process it shares with every other connector (F-WIRE-2, F-WIRE-4).

The guards in ``conformance/guards/`` are active during every clause (canary secrets, no egress, a loop
watchdog); these clauses drive one lifecycle and an abort and fail on what the guards recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from conformance.clause import ClauseFailure, ClauseSkip, Level, clause
from conformance.errors import ConnectorCallError, RpcFailed
from conformance.guards.hygiene import leftovers, snapshot
from conformance.guards.secret_canary import captured_logs, record_text
from conformance.guards.unsafe_metadata import audited, is_pickle_stream
from conformance.platform import Lifecycle, LifecycleBudgetExceeded

HYGIENE_GRACE = 1.0
"""Seconds a connector gets to close what it opened (sessions close asynchronously) before a leak counts."""
SHOWN = 5


@dataclass
class Exercise:
    """One lifecycle to its end and a DeleteTask, as far as it got: the first call error ends it."""

    lifecycle: Optional[Lifecycle] = None
    error: Optional[Exception] = None

    def completed(self) -> "Exercise":
        """Nothing the guards found, and nothing to check them on: the failed call is other clauses' finding."""
        if self.error is not None:
            raise ClauseSkip(f"not checked: the lifecycle did not complete ({self.error}); "
                             "the PHASE- and DELETE- clauses report why")
        return self


def _exercise(run) -> Exercise:
    done = Exercise()
    try:
        done.lifecycle = run.platform.start()
        run.platform.poll(done.lifecycle)
        run.platform.delete(done.lifecycle.meta)
    except (ConnectorCallError, LifecycleBudgetExceeded) as exc:
        done.error = exc
    return done


def _listing(items: List[str]) -> str:
    more = f"\n... and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "\n".join(items[:SHOWN]) + more


@clause("LOOP-BLOCKING", fact="F-WIRE-4")
def loop_blocking(run) -> None:
    """Connector code never holds the connector service's event loop past the stall threshold (F-WIRE-4)."""
    done = _exercise(run)
    stalls = list(run.guards.stalls)
    if not stalls:
        done.completed()
        return
    raise ClauseFailure(
        expected=f"the event loop runs at least every {run.config.loop_stall * 1000:g} ms while async connector "
                 "methods run (--connector-loop-stall)",
        observed=_listing([str(stall) for stall in stalls]) + (f"\nthen: {done.error}" if done.error else ""),
        consequence="The connector service runs every connector's async methods on one event loop: while it is "
                    "held, every RPC of every connector on the pod waits, and callers see DEADLINE_EXCEEDED "
                    "(F-WIRE-4).",
        fix="Inside async def, await non-blocking I/O (aiohttp, the SDK's async client) and move blocking calls "
            "off the loop (await asyncio.to_thread(...)); or write sync methods, which the service runs in "
            "worker threads.",
    )


@clause("SECRET-CANARY", fact="F-WIRE-2")
def secret_canary(run) -> None:
    """No secret the connector reads shows up in the meta, a Resource, logs or errors (F-WIRE-2)."""
    with captured_logs() as records:
        done = _exercise(run)
        logs = _logs_text(run, done)
    leaks = _leaks(run.guards.canaries, done, logs, records)
    if not leaks:
        done.completed()
        return
    raise ClauseFailure(
        expected="the canary values the suite gave for "
                 f"{', '.join(sorted(run.guards.canaries.issued))} appear nowhere the platform stores or shows",
        observed=_listing(leaks),
        consequence="Resource meta is stored in the workflow object and Resources, logs and errors are shown in "
                    "the UI and kept in the platform's logs: anyone who can read the workflow can read the "
                    "secret (F-WIRE-2).",
        fix="Read secrets when you call the backend and keep them there: store only identifiers in the meta, "
            "build log links without credentials, and redact messages and exceptions that echo requests.",
    )


def _logs_text(run, done: Exercise) -> str:
    """get_logs() output for the job, if the connector overrides it (the capability is optional)."""
    from flytekit.extend.backend.base_connector import AsyncConnectorBase

    if done.lifecycle is None or type(run.connector).get_logs is AsyncConnectorBase.get_logs:
        return ""
    try:
        meta = run.decode(done.lifecycle.meta)
        return str(run.call("get_logs", resource_meta=meta))
    except ConnectorCallError as exc:
        return str(exc)


def _leaks(canaries, done: Exercise, logs: str, records: list) -> List[str]:
    places = []
    if done.lifecycle is not None:
        places.append(("the encoded resource meta", done.lifecycle.meta))
        for index, resource in enumerate(done.lifecycle.resources, 1):
            places += [(f"GetTask #{index} Resource.{descriptor.name}", str(value))
                       for descriptor, value in resource.ListFields()]
    if done.error is not None:
        details = done.error.details if isinstance(done.error, RpcFailed) else ""
        places.append(("the error a call returned", f"{done.error}\n{details}"))
    places.append(("get_logs() output", logs))
    places += [(f"a log record of {record.name}", record_text(record)) for record in records]
    return [leak for where, content in places for leak in canaries.leaks(where, content)]


@clause("META-NO-PICKLE", fact="F-WIRE-2")
def meta_no_pickle(run) -> None:
    """The encoded meta is no pickle and decode() runs no code: whoever edits a stored meta must not run code (F-WIRE-2)."""
    try:
        _, meta = run.create_direct()
        encoded = run.encode(meta)
    except ConnectorCallError as exc:
        raise ClauseSkip(f"not checked: no encoded meta to inspect ({exc}); the META- clauses report why") from None
    if not isinstance(encoded, bytes):
        raise ClauseSkip("not checked: encode() does not return bytes (see META-ENCODE-BYTES)")
    meta_type = run.connector.metadata_type
    _, events = run.runtime.run_blocking(audited(lambda: meta_type.decode(encoded)), run.config.call_deadline,
                                         "decode()")
    problems = [f"decode() {event.render(run.guards.code)}" for event in events]
    if is_pickle_stream(encoded):
        problems.insert(0, f"encode() produced a pickle stream: {encoded[:48]!r}...")
    if not problems:
        return
    raise ClauseFailure(
        expected="plain data in the meta (e.g. JSON) and a decode() that only parses it",
        observed=_listing(problems),
        consequence="The meta is stored in the workflow object; anyone who can edit that object controls the "
                    "bytes decode() receives, and a decode() that unpickles or evaluates them runs their code in "
                    "the connector service, next to every connector's credentials (F-WIRE-2).",
        fix="Encode with json (flytekit's default ResourceMeta.encode/decode does) and never pickle, eval or "
            "exec what decode() receives.",
    )


@clause("NET-EGRESS", fact="HARNESS")
def net_egress(run) -> None:
    """Connector code reaches only the backend it was given; the suite refuses other hosts (HARNESS)."""
    if run.guards.egress is None:
        raise ClauseSkip("the egress guard is off (--connector-allow-network)")
    done = _exercise(run)
    attempts = [attempt.render(run.guards.code) for attempt in run.guards.egress.attempts]
    if not attempts:
        done.completed()
        return
    raise ClauseFailure(
        expected="connections to loopback only: the fake backend and the connector service the suite runs",
        observed="refused " + _listing(attempts) + (f"\nthen: {done.error}" if done.error else ""),
        consequence="Bound to a fake backend, the connector still contacts a real host: a test run reaches a "
                    "real account (cost, data, credentials), and in production it calls endpoints the task's "
                    "configuration did not name.",
        fix="Take every endpoint from configuration (the URL the suite passes); no hard-coded hosts, telemetry "
            "or metadata-server calls in create/get/delete, or make them configurable and off in tests.",
    )


@clause("HYGIENE", fact="F-WIRE-4", level=Level.SHOULD)
def hygiene(run) -> None:
    """A lifecycle and a delete leave no threads, child processes or sockets in the shared service process (F-WIRE-4)."""
    _exercise(run).completed()  # warm-up: connection pools, lazy imports and worker threads start here
    before = snapshot()
    _exercise(run).completed()
    found = leftovers(before, run.guards.code, HYGIENE_GRACE)
    if not found:
        return
    raise ClauseFailure(
        expected=f"after a lifecycle and a DeleteTask, nothing the connector started is left after "
                 f"{HYGIENE_GRACE:g} s",
        observed=_listing(found),
        consequence="One connector service process serves every task of every connector for days (F-WIRE-4): "
                    "what each call leaves behind accumulates until threads or file descriptors run out.",
        fix="Close sessions and clients (async with ...), join or avoid background threads, and wait for child "
            "processes; keep one shared client on the connector instead of one per call.",
    )
