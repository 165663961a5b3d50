"""Guards: what connector code does to the process it shares with every other connector (F-WIRE-2, F-WIRE-4).

Design. The guards in ``conformance/guards/`` watch every clause (canary secrets, refused egress, the loop
watchdog, blocking calls on the loop, everything the connector returns or raises, every decode()), and
what they see is kept per connector in a ledger (``conformance/guards/evidence.py``), tagged with the
clause it was seen in. LOOP-BLOCKING, SECRET-CANARY, NET-EGRESS and META-NO-PICKLE judge that ledger: a
stall in a fault clause or a canary in a scripted failure's message fails them, naming the clause, and
one failing call never hides the rest. So that the verdict does not depend on which clauses happened to
run before in this process (``pytest -n N`` spreads them over workers, ``-k`` selects some), the first
guard clause of a connector in each process tours the suite: it runs every clause that drives the
connector and has not already run under the guards in this process, verdicts discarded, with the
guards recording. Either way the ledger covers the whole suite once; a plain serial run, where every
other clause ran before the guards, tours nothing.

HYGIENE measures one instance instead: the tour builds a fresh instance per clause, and a connection pool
per instance is no leak in production, where the service keeps one instance for its whole life.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from conformance.clause import ClauseFailure, ClauseSkip, Level, all_clauses, clause
from conformance.errors import ConnectorCallError
from conformance.guards.hygiene import Snapshot, leftovers, snapshot
from conformance.platform import LifecycleBudgetExceeded

if TYPE_CHECKING:
    from conformance.run import ClauseRun

HYGIENE_GRACE = 1.0
"""Seconds a connector gets to close what it opened (sessions close asynchronously) before a leak counts."""
SHOWN = 5
NOT_TOURED = {
    "META-FRESH-PROCESS": "decodes in a child process, out of the guards' sight",
    "META-FUZZ": "hundreds of examples; META-NO-PICKLE round-trips a sample of its own",
}
DECODE_SAMPLES = 10
"""Metas drawn from metadata_type's type hints that META-NO-PICKLE encodes and decodes itself."""


def _findings(run: ClauseRun, guard: str) -> list[str]:
    """What ``guard`` saw for this connector anywhere, after touring the suite once in this process."""
    ledger = run.guards.ledger
    if not ledger.toured:
        ledger.toured = True
        ledger.tour_cut = _tour(run)
    if ledger.tour_cut:
        run.notes.append(f"{guard}: {ledger.tour_cut}")
    return ledger.findings(guard, also=run.guards.sightings)


def _tour(run: ClauseRun) -> str:
    """Every clause that drives the connector and has not run here yet, verdicts discarded: the guards record
    what each one does.

    Bounded by the lifecycle budget: a connector that hangs would otherwise cost a deadline per clause.
    Returns why the tour stopped early, if it did.
    """
    from conformance.run import run_clause

    began = time.monotonic()
    cut = ""
    for toured in all_clauses():
        if toured.family == "guards" or toured.id in NOT_TOURED or toured.id in run.guards.ledger.watched:
            continue
        if time.monotonic() - began > run.config.budget or run.runtime.crashed.is_set():
            cut = (f"judged on part of the suite only: the guard tour stopped before {toured.id} (the connector "
                   f"is too slow for --connector-budget={run.config.budget:g}, or ended the loop)")
            break
        if run.backend is not None:
            run.backend.reset()
        run_clause(toured, run.subject, run.runtime, run.config)
    if run.backend is not None:
        run.backend.reset()
    return cut


def _listing(items: list[str]) -> str:
    more = f"\n... and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "\n".join(items[:SHOWN]) + more


@clause("LOOP-BLOCKING", fact="F-WIRE-4",
        consequence="The connector service runs every connector's async methods on one event loop: while it is held, "
                    "every RPC of every connector on the pod waits, and callers see DEADLINE_EXCEEDED (F-WIRE-4). A "
                    "fake answers in a millisecond; a real backend takes hundreds.",
        fix="Inside async def, await non-blocking I/O (aiohttp, the SDK's async client) and asyncio.sleep; move "
            "blocking calls off the loop (await asyncio.to_thread(...) or loop.run_in_executor); or write sync "
            "methods, which the service runs in worker threads.")
def loop_blocking(run: ClauseRun) -> None:
    """Connector code never blocks the service's event loop: no blocking I/O or sleep on it, no stall (F-WIRE-4)."""
    found = _findings(run, "LOOP-BLOCKING")
    run.notes += [f"LOOP-BLOCKING: not counted, seen once (a first call's warm-up?): {one_off}"
                  for one_off in run.guards.ledger.findings("LOOP-BLOCKING", run.guards.sightings, one_offs=True)]
    if not found:
        return
    raise ClauseFailure(
        expected="no blocking socket call or time.sleep on the event loop thread, and the loop running at least "
                 f"every {run.config.loop_stall * 1000:g} ms (--connector-loop-stall) while async connector "
                 "methods run, in every clause",
        observed=_listing(found),
    )


@clause("SECRET-CANARY", fact="F-WIRE-2",
        consequence="Resource meta is stored in the workflow object and Resources, logs and errors are shown in the "
                    "UI and kept in the platform's logs: anyone who can read the workflow can read the secret "
                    "(F-WIRE-2).",
        fix="Read secrets when you call the backend and keep them there: store only identifiers in the meta, build "
            "log links without credentials, and redact messages and exceptions that echo requests.")
def secret_canary(run: ClauseRun) -> None:
    """No secret the connector reads shows up in a meta, Resource, log or error, on any path (F-WIRE-2)."""
    found = _findings(run, "SECRET-CANARY")
    if not found:
        return
    raise ClauseFailure(
        expected="the canary values the suite answers for every secret the connector reads appear nowhere the "
                 "platform stores or shows: metas, Resource messages, log links, custom_info and outputs, logs "
                 "and exceptions, on success, failure and abort paths",
        observed=_listing(found),
    )


@clause("META-NO-PICKLE", fact="F-WIRE-2",
        consequence="The meta is stored in the workflow object; anyone who can edit that object controls the bytes "
                    "decode() receives, and a decode() that unpickles or evaluates them runs their code in the "
                    "connector service, next to every connector's credentials (F-WIRE-2).",
        fix="Encode with json (flytekit's default ResourceMeta.encode/decode does) and never pickle, eval or exec "
            "what decode() receives.")
def meta_no_pickle(run: ClauseRun) -> None:
    """The encoded meta is no pickle and decode() runs no code: editing a stored meta must not run code (F-WIRE-2)."""
    _decode_created(run)
    _decode_samples(run)
    found = _findings(run, "META-NO-PICKLE")
    if not found and not run.guards.ledger.decoded:
        raise ClauseSkip("not checked: no meta was ever decoded (create() returned none and metadata_type's "
                         "type hints give no sample); the STRUCT- and META- clauses report why")
    if not found:
        return
    raise ClauseFailure(
        expected="plain data in the meta (e.g. JSON) and a decode() that only parses it",
        observed=_listing(found),
    )


def _decode_created(run: ClauseRun) -> None:
    """decode(encode(create())) under the guards; a failing call is other clauses' finding."""
    try:
        _, meta = run.create_direct()
        encoded = run.encode(meta)
        if isinstance(encoded, bytes):
            run.decode(encoded)
    except (ConnectorCallError, AttributeError):
        pass


def _decode_samples(run: ClauseRun) -> None:
    """Round-trip a few metas drawn from the type hints: decode() is judged even when create() fails."""
    from hypothesis import HealthCheck, given, settings

    from conformance.metadata_strategies import metadata_strategy

    meta_type = run.connector.metadata_type
    try:
        strategy = metadata_strategy(meta_type, run.subject.metadata_strategies).strategy
    except Exception:
        return  # not a dataclass: STRUCT-METADATA-TYPE says so
    if strategy.is_empty:
        return

    @settings(max_examples=DECODE_SAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def roundtrip(meta) -> None:
        try:
            meta_type.decode(meta.encode())
        except Exception:
            pass  # a loss is META-FUZZ's finding; only what decode() does matters here

    try:
        run.call_blocking(roundtrip, "decoding sample metas")
    except ConnectorCallError:
        pass


@clause("NET-EGRESS", fact="HARNESS",
        consequence="Bound to a fake backend, the connector still contacts a real host: a test run reaches a real "
                    "account (cost, data, credentials), and in production it calls endpoints the task's "
                    "configuration did not name.",
        fix="Take every endpoint from configuration (the URL the suite passes); no hard-coded hosts, telemetry or "
            "metadata-server calls in create/get/delete, or make them configurable and off in tests.")
def net_egress(run: ClauseRun) -> None:
    """Connector code reaches only the backend it was given; the suite refuses other hosts (HARNESS)."""
    if run.guards.egress is None:
        raise ClauseSkip("the egress guard is off (--connector-allow-network)")
    found = _findings(run, "NET-EGRESS")
    if not found:
        return
    raise ClauseFailure(
        expected="connections to loopback only: the fake backend and the connector service the suite runs",
        observed=_listing(found),
    )


@clause("HYGIENE", fact="F-WIRE-4", level=Level.SHOULD,
        consequence="One connector service process serves every task of every connector for days (F-WIRE-4): what "
                    "each call leaves behind accumulates until threads or file descriptors run out.",
        fix="Close sessions and clients (async with ...), join or avoid background threads, and wait for child "
            "processes; keep one shared client on the connector instead of one per call.")
def hygiene(run: ClauseRun) -> None:
    """Lifecycles, failures and deletes leave no threads, child processes or sockets behind (F-WIRE-4)."""
    _exercise(run)  # warm-up: connection pools, lazy imports and worker threads start here
    before = snapshot()
    steps = _exercise(run)
    code = run.guards.code
    assert code is not None  # ClauseRun built the connector, which the guards then learned the code of
    found = leftovers(before, code, HYGIENE_GRACE, steps)
    if not found:
        return
    raise ClauseFailure(
        expected=f"after lifecycles, a scripted failure and DeleteTasks on one instance, nothing the connector "
                 f"started is left after {HYGIENE_GRACE:g} s",
        observed=_listing(found),
    )


def _exercise(run: ClauseRun) -> list[tuple[str, Snapshot]]:
    """Each step on the same instance, a failing call ending only its own step; a snapshot after each."""
    steps: list[tuple[str, Callable[[], None]]] = [
        ("a lifecycle, then DeleteTask", lambda: run.platform.delete(run.platform.run().meta)),
        ("DeleteTask right after CreateTask", lambda: run.platform.delete(run.platform.create()[1])),
        ("DeleteTask twice", lambda: _delete_twice(run)),
    ]
    if run.backend is not None:
        steps.insert(1, ("a scripted failure, then DeleteTask", lambda: _scripted_failure(run)))
    taken = []
    for name, step in steps:
        try:
            step()
        except (ConnectorCallError, LifecycleBudgetExceeded):
            pass  # the PHASE- and DELETE- clauses report it; what it left behind still counts
        taken.append((name, snapshot()))
    return taken


def _delete_twice(run: ClauseRun) -> None:
    meta = run.platform.start().meta
    run.platform.delete(meta)
    run.platform.delete(meta)


def _scripted_failure(run: ClauseRun) -> None:
    states = run.backend.states
    run.backend.script([states.running, states.failed], message="conformance: scripted failure")
    run.platform.delete(run.platform.run().meta)
