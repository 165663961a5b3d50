"""The harness guards: correct connectors trip none, misbehaving ones fail within bounds, the session survives.

The connectors here are not clause targets (those are in ``broken/guards.py``): well-behaved controls,
and connectors that hang or take the interpreter down, which the harness must contain.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import json
import os
import socket
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Optional

import flytekit
import pytest
from flytekit.extend.backend.base_connector import AsyncConnectorBase, Resource, ResourceMeta

from conformance.clause import all_clauses
from conformance.config import ConformanceConfig
from conformance.errors import EgressRefused
from conformance.guards.net_egress import EgressGuard
from conformance.guards.secret_canary import SecretCanaries
from conformance.guards.unsafe_metadata import audited, is_pickle_stream
from conformance.reference import JobMeta, ReferenceConnector, Unavailable

GUARD_CLAUSES = " or ".join(c.id for c in all_clauses() if c.family == "guards")
HANG = 3.0
"""Seconds the blocking hang holds the loop: well past the 0.5 s deadline the tests set, then it lets go."""


# --- well-behaved controls ------------------------------------------------------------------------

class SyncReference(ReferenceConnector):
    """Synchronous methods (a blocking SDK): the service runs them in worker threads, so blocking is fine."""

    get_logs = AsyncConnectorBase.get_logs  # the reference's awaits get(), which is synchronous here
    get_metrics = AsyncConnectorBase.get_metrics

    def create(self, **kwargs: Any) -> JobMeta:
        return asyncio.run(super().create(**kwargs))

    def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        time.sleep(0.1)  # a slow blocking SDK call, twice the stall threshold
        return asyncio.run(super().get(resource_meta, **kwargs))

    def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        asyncio.run(super().delete(resource_meta, **kwargs))


class SlowButAwaits(ReferenceConnector):
    """A slow backend, awaited properly: the loop stays free."""

    async def create(self, **kwargs: Any) -> JobMeta:
        await asyncio.sleep(0.2)
        return await super().create(**kwargs)

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        await asyncio.sleep(0.2)
        await super().delete(resource_meta, **kwargs)


class ReadsSecretsCarefully(ReferenceConnector):
    """Reads secrets through all three ways and sends one to the backend only (in a header)."""

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self.token = flytekit.current_context().secrets.get(group="jobs", key="token")
        self.region = os.environ.get("_FSEC_REGION_KEY")

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        assert self.token.startswith("canary-") and self.region.startswith("canary-")
        return await super().get(resource_meta, **kwargs)


@pytest.mark.parametrize("connector, selection", [
    ("test_guards.SyncReference", None),
    ("test_guards.SlowButAwaits", GUARD_CLAUSES + " or PHASE-ACCEPTED"),
    ("test_guards.ReadsSecretsCarefully", GUARD_CLAUSES),
])
def test_correct_connectors_trip_no_guard(run_suite, connector: str, selection: Optional[str]) -> None:
    run = run_suite(connector, *(["-k", selection] if selection else []))
    assert {c: run.outcomes[c] for c in GUARD_CLAUSES.split(" or ")} == dict.fromkeys(GUARD_CLAUSES.split(" or "),
                                                                                       "passed"), run.output
    assert "LOOP-BLOCKING:" not in run.output and "NET-EGRESS:" not in run.output, "no guard notes either"


# --- deadlines everywhere ------------------------------------------------------------------------

class HangsInCreate(ReferenceConnector):
    async def create(self, **kwargs: Any) -> JobMeta:
        await asyncio.Event().wait()  # never set


class HangsInGet(ReferenceConnector):
    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        time.sleep(HANG)  # holds the service loop itself, past the deadline
        return await super().get(resource_meta, **kwargs)


class HangsInDelete(ReferenceConnector):
    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        await asyncio.Event().wait()


@pytest.mark.parametrize("connector, method, failing", [
    # a hang in create or get is a setup failure: reported once, the clauses needing it are blocked
    ("HangsInCreate", "create()", {"PHASE-ACCEPTED"}),  # the setup probe calls it directly
    ("HangsInGet", "GetTask", {"PHASE-ACCEPTED"}),
    ("HangsInDelete", "DeleteTask", {"DELETE-AFTER-CREATE"}),
])
def test_a_hanging_call_fails_its_clauses_within_the_deadline_and_the_rest_run(
        run_suite, connector: str, method: str, failing: set) -> None:
    began = time.monotonic()
    run = run_suite(f"test_guards.{connector}", "--connector-deadline=0.5",
                    "-k", "STRUCT-SIGNATURES or PHASE-ACCEPTED or DELETE-AFTER-CREATE or BACKEND-UNKNOWN-STATE")
    assert run.failed() == failing, run.output
    assert len(run.outcomes) == 5, "every selected clause was reported"
    assert f"{method} did not return within 0.5 s" in run.output
    assert time.monotonic() - began < 30, "each hung call should cost about one deadline"


# --- crash isolation -----------------------------------------------------------------------------

class Interrupts(ReferenceConnector):
    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        raise KeyboardInterrupt


class InterruptsInGetLogs(ReferenceConnector):
    """KeyboardInterrupt from a method the clause calls directly on the service loop."""

    async def get_logs(self, resource_meta: JobMeta, **kwargs: Any) -> Any:
        raise KeyboardInterrupt


def test_keyboard_interrupt_from_connector_code_is_a_clause_failure(run_suite) -> None:
    run = run_suite("test_guards.Interrupts", "-k", "PHASE-ACCEPTED or STRUCT-SIGNATURES")
    assert run.failed() == {"PHASE-ACCEPTED"}, run.output
    assert "GetTask failed with CRASHED: connector code ended the service's event loop: KeyboardInterrupt" \
        in run.output
    assert "SystemExit/KeyboardInterrupt in connector code ends the connector service process" in run.output
    direct = run_suite("test_guards.InterruptsInGetLogs", "-k", "CAP-LOGS")
    assert direct.failed() == {"CAP-LOGS"} and "get_logs() raised KeyboardInterrupt" in direct.output


class ExitsHard(ReferenceConnector):
    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        os._exit(3)


class Segfaults(ReferenceConnector):
    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        ctypes.string_at(0)  # reads address 0: SIGSEGV
        raise AssertionError("unreachable")


class EatsMemory(ReferenceConnector):
    async def create(self, **kwargs: Any) -> JobMeta:
        hoard = bytes(8 << 30)  # 8 GiB, past the isolated child's address-space limit
        return await super().create(**kwargs) if hoard else None


def test_isolation_reports_process_deaths_as_failures_and_the_session_report_appears(pytester, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.path.dirname(os.path.abspath(__file__)))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--connector=test_guards.ExitsHard", "--connector=test_guards.Segfaults",
        "--connector=test_guards.EatsMemory", "--connector-isolation=clause", "--connector-memory-limit=2048",
        "-k", "PHASE-ACCEPTED or STRUCT-SIGNATURES", "-rf",
        timeout=480,  # six fresh child processes, a minute or more on a loaded machine
    )
    result.stdout.fnmatch_lines([
        "*observed:*the host process exited with status 3, during the setup probe's LIFECYCLE step*",
        "*observed:*the host process was killed by SIGSEGV, during the setup probe's LIFECYCLE step*",
        "*Fatal Python error: Segmentation fault*",
        "*test_guards.py*in get*",
        "*MemoryError*",
        "*3 failed, 3 passed*",
    ])


def test_isolated_clause_steers_the_parent_process_backend() -> None:
    from conformance import Subject, check_connector
    from fake_backends import serve_jobs

    with serve_jobs(default_outputs={"y": 1}) as backend:
        subject = Subject("ReferenceConnector", lambda: ReferenceConnector(base_url=backend.url), backend=backend)
        clauses = [c for c in all_clauses() if c.id in ("DELETE-AFTER-FAILURE", "BACKEND-ABORT-REACHES")]
        report = check_connector(subject, ConformanceConfig(isolation="clause"), clauses)
        assert backend.jobs(), "the child's jobs were created on this process's fake backend"
    assert report.passed and len(report.results) == 2, [r.message for r in report.results]


# --- each test, fresh instance and fresh backend ---------------------------------------------------

class RecordsInstances(ReferenceConnector):
    """Appends what it sees to the file in $INSTANCE_LOG: its id, its test, and the backend's jobs."""

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self.instance = uuid.uuid4().hex
        with urllib.request.urlopen(f"{self.client.base_url}/jobs", timeout=5) as answer:
            self._log("built", jobs=len(json.load(answer).get("jobs", [])))

    def _log(self, event: str, **more: Any) -> None:
        test = os.environ["PYTEST_CURRENT_TEST"].split(" ")[0]
        with open(os.environ["INSTANCE_LOG"], "a") as log:
            log.write(json.dumps(dict(event=event, test=test, instance=self.instance, url=self.client.base_url,
                                      **more)) + "\n")

    async def create(self, **kwargs: Any) -> JobMeta:
        self._log("used")
        return await super().create(**kwargs)


def test_each_test_gets_a_fresh_connector_and_a_fresh_backend(run_suite, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("INSTANCE_LOG", str(tmp_path / "instances.jsonl"))
    run = run_suite("test_guards.RecordsInstances", "-k", "PHASE or DELETE")
    assert run.ret == 0, run.output
    events = [json.loads(line) for line in (tmp_path / "instances.jsonl").read_text().splitlines()]
    built_in = {e["instance"]: e["test"] for e in events if e["event"] == "built"}
    assert all(built_in[e["instance"]] == e["test"] for e in events if e["event"] == "used")
    first_build = {}
    for event in (e for e in events if e["event"] == "built"):
        first_build.setdefault(event["test"], event)
    assert len(first_build) > 5 and all(e["jobs"] == 0 for e in first_build.values())
    assert len({e["url"] for e in first_build.values()}) == len(first_build), "one backend per test"


# --- the guards on their own ---------------------------------------------------------------------

def test_egress_guard_refuses_before_resolving_or_connecting_and_allows_loopback() -> None:
    with socket.socket() as listener, EgressGuard() as guard:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        socket.create_connection(listener.getsockname(), timeout=5).close()
        with pytest.raises(EgressRefused, match="example.invalid:80"):
            socket.create_connection(("example.invalid", 80), timeout=5)  # no DNS query is sent
        with socket.socket() as outbound:
            assert outbound.connect_ex(("203.0.113.7", 443)) != 0
    assert [a.destination for a in guard.attempts] == ["example.invalid:80", "203.0.113.7:443"]
    assert socket.getaddrinfo.__module__ == "socket", "the guard restores what it patched"


def test_allow_network_turns_the_egress_guard_off(run_suite) -> None:
    run = run_suite("conformance.reference.ReferenceConnector", "--connector-allow-network", "-k", "NET-EGRESS")
    assert run.outcomes == {"NET-EGRESS": "skipped"}
    assert "the egress guard is off (--connector-allow-network)" in run.output


def test_secret_canaries_are_unique_and_found_in_base64_inside_other_text() -> None:
    from flytekit.extend.backend.utils import get_connector_secret

    with SecretCanaries() as canaries:
        token = get_connector_secret("token")
        other = flytekit.current_context().secrets.get(group="db", key="password")
        assert os.getenv("_FSEC_TOKEN") == token != other
    assert set(canaries.issued) == {"_FSEC_TOKEN", "_FSEC_DB_PASSWORD"}
    header = "Authorization: Basic " + base64.b64encode(f"user:{other}".encode()).decode()
    assert canaries.leaks("a header", header) == ["secret _FSEC_DB_PASSWORD (base64) in a header"]
    assert canaries.leaks("a message", f"token={token}") == ["secret _FSEC_TOKEN in a message"]
    assert "_FSEC_TOKEN" not in os.environ


def test_audit_records_only_the_armed_thread() -> None:
    other = threading.Thread(target=lambda: eval("1 + 1"))
    result, events = audited(lambda: (other.start(), other.join(), eval("2 + 2"))[-1])()
    assert result == 4 and [e.event for e in events] == ["exec"]
    assert is_pickle_stream(__import__("pickle").dumps({"a": 1})) and not is_pickle_stream(b'{"a": 1}')


def test_ledger_names_each_site_once_with_its_clauses_and_keeps_one_off_stalls_apart() -> None:
    from conformance.guards.evidence import Ledger, Sighting

    ledger = Ledger()
    ledger.add([Sighting("LOOP-BLOCKING", "DELETE-TWICE", "a.py:3", "time.sleep(0.2) blocked the loop at a.py:3"),
                Sighting("LOOP-BLOCKING", "DELETE-PURGED", "a.py:3", "time.sleep(0.2) blocked the loop at a.py:3"),
                Sighting("LOOP-BLOCKING", "PHASE-ACCEPTED", "b.py:9", "the loop stalled 300 ms at b.py:9", True),
                Sighting("NET-EGRESS", "DELETE-TWICE", "203.0.113.7:443", "refused connect")])
    assert ledger.findings("LOOP-BLOCKING") == [
        "time.sleep(0.2) blocked the loop at a.py:3 (seen in DELETE-TWICE, DELETE-PURGED)"]
    assert ledger.findings("LOOP-BLOCKING", one_offs=True) == [
        "the loop stalled 300 ms at b.py:9 (seen in PHASE-ACCEPTED)"]
    again = Sighting("LOOP-BLOCKING", "LOOP-BLOCKING", "b.py:9", "the loop stalled 280 ms at b.py:9", True)
    assert ledger.findings("LOOP-BLOCKING", also=[again])[1] == (
        "the loop stalled 300 ms at b.py:9 (seen in PHASE-ACCEPTED, LOOP-BLOCKING)"), "seen twice: counted"


def test_decode_watch_sees_every_caller_and_restores_the_class() -> None:
    from conformance.guards.unsafe_metadata import watching_decode

    seen = []
    with watching_decode(JobMeta, lambda data, events: seen.append((data, [e.event for e in events]))):
        assert JobMeta.decode(b'{"job_id": "j", "submitted_at": 1.0}').job_id == "j"
        threading.Thread(target=lambda: JobMeta.decode(b'{"job_id": "k", "submitted_at": 1.0}')).start()
        time.sleep(0.2)
    assert [data for data, _ in seen] == [b'{"job_id": "j", "submitted_at": 1.0}',
                                          b'{"job_id": "k", "submitted_at": 1.0}']
    assert "decode" in vars(JobMeta) and JobMeta.decode.__func__.__qualname__ == "JobMeta.decode"

    from broken.guards import PickledJobMeta

    with watching_decode(SyncMeta, lambda data, events: None):
        assert "decode" in vars(SyncMeta)
    assert "decode" not in vars(SyncMeta) and SyncMeta.decode.__func__ is ResourceMeta.decode.__func__
    assert PickledJobMeta.decode.__func__.__qualname__ == "PickledJobMeta.decode"


@dataclass
class SyncMeta(ResourceMeta):
    """Inherits flytekit's decode: the watch must delete its wrapper again, not leave a copy behind."""

    job_id: str


def test_observed_methods_keep_their_kind_and_signature() -> None:
    import inspect

    from conformance.guards.observed import observe

    connector, reference = (cls(base_url="http://127.0.0.1:9") for cls in (SyncReference, ReferenceConnector))
    seen = []
    observe(connector, lambda where, text: seen.append(where))
    observe(reference, lambda where, text: None)
    assert not inspect.iscoroutinefunction(connector.get) and inspect.iscoroutinefunction(reference.get)
    assert connector.get.__wrapped__ and reference.get.__wrapped__
    assert list(inspect.signature(connector.get).parameters) == ["resource_meta", "kwargs"]
    with pytest.raises(Unavailable):
        connector.delete(JobMeta(job_id="j", submitted_at=0.0))  # nothing listens on port 9
    assert seen == ["the exception delete() raised"]


def test_the_canary_reads_a_malformed_log_call_without_a_harness_error() -> None:
    # BigQuery's connector logs `logger.error("...: ", exc)`: arguments without a placeholder. getMessage()
    # raises on it; reading the record must not turn HYGIENE into a harness ERROR, and still sees the text.
    import logging

    from conformance.guards.secret_canary import record_text

    record = logging.LogRecord("flytekit", logging.ERROR, __file__, 1, "failed to get job: ", ("token-123",), None)
    assert "token-123" in record_text(record)
