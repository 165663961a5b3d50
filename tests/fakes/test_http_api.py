"""The job service over real HTTP on 127.0.0.1: endpoints, fault kinds, concurrency, lifecycle."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any, Iterator, NamedTuple
from urllib.parse import urlsplit

import aiohttp
import pytest

from fake_backends import BackendControl, FakeJobServer, JobService, serve_jobs


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: Any


async def fetch(
    session: aiohttp.ClientSession, method: str, path: str, body: Any = None, timeout: float = 2.0
) -> Reply:
    async with session.request(method, path, json=body, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        return Reply(response.status, dict(response.headers), await response.json())


def call(server: FakeJobServer, method: str, path: str, body: Any = None, timeout: float = 2.0) -> Reply:
    """One request from a fresh client on a fresh event loop, as a connector would make it."""

    async def once() -> Reply:
        async with aiohttp.ClientSession(server.url) as session:
            return await fetch(session, method, path, body, timeout)

    return asyncio.run(once())


def submit(server: FakeJobServer, key: str | None = None) -> str:
    reply = call(server, "POST", "/jobs", {"spec": {"q": 1}, "inputs": {"x": 2}, "idempotency_key": key})
    assert reply.status == 200
    return reply.body["job_id"]


def port_of(server_url: str) -> int:
    port = urlsplit(server_url).port
    assert port is not None
    return port


def server_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "fake-job-server"]


@pytest.fixture
def server() -> Iterator[FakeJobServer]:
    with serve_jobs(default_outputs={"rows": 3}) as running:
        yield running


def test_submit_returns_the_job_in_state_submitted(server: FakeJobServer) -> None:
    reply = call(server, "POST", "/jobs", {"spec": {"q": 1}, "inputs": {"x": 2}, "idempotency_key": None})
    assert (reply.status, reply.body) == (
        200, {"job_id": "job-1", "state": "SUBMITTED", "message": None, "outputs": None})
    assert reply.headers["Content-Type"].startswith("application/json")
    (job,) = server.jobs()
    assert (job.spec, job.inputs, job.idempotency_key) == ({"q": 1}, {"x": 2}, None)


def test_submit_accepts_a_minimal_body(server: FakeJobServer) -> None:
    assert call(server, "POST", "/jobs", {}).status == 200
    assert (server.jobs()[0].spec, server.jobs()[0].inputs) == ({}, {})


def test_status_walks_the_script_and_reports_outputs_on_success(server: FakeJobServer) -> None:
    job_id = submit(server)
    bodies = [call(server, "GET", f"/jobs/{job_id}").body for _ in range(3)]
    assert [body["state"] for body in bodies] == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert [body["outputs"] for body in bodies] == [None, None, {"rows": 3}]


def test_status_reports_the_scripted_message_and_unknown_states(server: FakeJobServer) -> None:
    server.script(["QUARANTINED"], message="held for review")
    job_id = submit(server)
    body = call(server, "GET", f"/jobs/{job_id}").body
    assert (body["state"], body["message"]) == ("QUARANTINED", "held for review")


@pytest.mark.parametrize(
    "method, path",
    [("GET", "/jobs/job-404"), ("POST", "/jobs/job-404/cancel"), ("GET", "/jobs/job-404/outputs")],
)
def test_unknown_jobs_are_404(server: FakeJobServer, method: str, path: str) -> None:
    reply = call(server, method, path)
    assert reply.status == 404
    assert "job-404" in reply.body["error"]


def test_cancel_then_cancelled_and_409_once_finished(server: FakeJobServer) -> None:
    job_id = submit(server)
    reply = call(server, "POST", f"/jobs/{job_id}/cancel")
    assert (reply.status, reply.body["state"]) == (200, "CANCELLING")
    assert call(server, "GET", f"/jobs/{job_id}").body["state"] == "CANCELLED"
    conflict = call(server, "POST", f"/jobs/{job_id}/cancel")
    assert conflict.status == 409
    assert "already finished" in conflict.body["error"]
    assert server.jobs()[0].cancels == 2


def test_list_returns_every_job(server: FakeJobServer) -> None:
    first, second = submit(server), submit(server)
    reply = call(server, "GET", "/jobs")
    assert reply.status == 200
    listed = [(job["job_id"], job["state"]) for job in reply.body["jobs"]]
    assert listed == [(first, "SUBMITTED"), (second, "SUBMITTED")]


def test_outputs_are_409_until_succeeded(server: FakeJobServer) -> None:
    job_id = submit(server)
    conflict = call(server, "GET", f"/jobs/{job_id}/outputs")
    assert (conflict.status, conflict.body) == (409, {"error": f"job {job_id} has no outputs in state SUBMITTED"})
    for _ in range(3):
        call(server, "GET", f"/jobs/{job_id}")
    reply = call(server, "GET", f"/jobs/{job_id}/outputs")
    assert (reply.status, reply.body) == (200, {"outputs": {"rows": 3}})


@pytest.mark.parametrize("body", [[1, 2], {"spec": "not an object"}, {"idempotency_key": 5}])
def test_malformed_submits_are_400(server: FakeJobServer, body: Any) -> None:
    reply = call(server, "POST", "/jobs", body)
    assert reply.status == 400
    assert "error" in reply.body
    assert server.jobs() == []


def test_a_non_json_submit_is_400(server: FakeJobServer) -> None:
    async def post_text() -> int:
        async with aiohttp.ClientSession(server.url) as session:
            async with session.post("/jobs", data=b"{not json") as response:
                return response.status

    assert asyncio.run(post_text()) == 400


def test_unknown_paths_are_json_errors(server: FakeJobServer) -> None:
    reply = call(server, "GET", "/nowhere")
    assert (reply.status, reply.body) == (404, {"error": "Not Found"})
    assert call(server, "DELETE", "/jobs").status == 405


def test_http_fault_with_retry_after_then_recovery(server: FakeJobServer) -> None:
    server.fault("submit", status=429, times=2, retry_after=0.5)
    server.fault("submit", status=503, retry_after=2)
    replies = [call(server, "POST", "/jobs", {}) for _ in range(4)]
    assert [reply.status for reply in replies] == [429, 429, 503, 200]
    assert [reply.headers.get("Retry-After") for reply in replies] == ["0.5", "0.5", "2", None]
    assert "submit" in replies[0].body["error"]
    assert server.counters()["submit"] == 4
    assert len(server.jobs()) == 1


def test_http_fault_without_retry_after_has_no_header(server: FakeJobServer) -> None:
    job_id = submit(server)
    server.fault("status", status=500)
    reply = call(server, "GET", f"/jobs/{job_id}")
    assert reply.status == 500
    assert "Retry-After" not in reply.headers


def test_reset_fault_drops_the_connection(server: FakeJobServer) -> None:
    server.fault("submit", kind="reset")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        call(server, "POST", "/jobs", {})
    assert call(server, "POST", "/jobs", {}).status == 200
    assert server.counters()["submit"] == 2
    assert len(server.jobs()) == 1


def test_lost_fault_creates_the_job_then_drops_the_connection(server: FakeJobServer) -> None:
    server.fault("submit", kind="lost")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        call(server, "POST", "/jobs", {"idempotency_key": "k"})
    assert [job.idempotency_key for job in server.jobs()] == ["k"]


def test_aiohttp_retries_an_idempotent_request_once_after_a_reset(server: FakeJobServer) -> None:
    """So a fault clause must reset GETs at least twice for an aiohttp client to notice."""
    server.fault("list", kind="reset")
    assert call(server, "GET", "/jobs").status == 200
    server.fault("list", kind="reset", times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        call(server, "GET", "/jobs")
    assert server.counters()["list"] == 4


def test_timeout_fault_outlasts_the_client_and_stop_is_still_prompt() -> None:
    server = FakeJobServer(JobService()).start()
    port = port_of(server.url)
    server.fault("submit", kind="timeout")
    with pytest.raises(asyncio.TimeoutError):
        call(server, "POST", "/jobs", {}, timeout=0.2)
    assert server.jobs() == []
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    assert server_threads() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5)


def test_stop_is_prompt_while_a_request_is_held(server: FakeJobServer) -> None:
    """The client is still waiting when the server stops: it sees the connection drop."""
    server.fault("list", kind="timeout")

    async def held_list_during_stop() -> None:
        async with aiohttp.ClientSession(server.url) as session:
            pending = asyncio.ensure_future(fetch(session, "GET", "/jobs", timeout=5.0))
            await asyncio.sleep(0.05)
            assert not pending.done()
            await asyncio.get_running_loop().run_in_executor(None, server.stop)
            await pending

    started = time.monotonic()
    with pytest.raises(aiohttp.ClientConnectionError):
        asyncio.run(held_list_during_stop())
    assert time.monotonic() - started < 1.5


def test_latency_delays_only_the_chosen_op(server: FakeJobServer) -> None:
    job_id = submit(server)
    server.latency("status", 0.15)

    def timed(path: str) -> float:
        started = time.monotonic()
        call(server, "GET", path)
        return time.monotonic() - started

    assert timed(f"/jobs/{job_id}") >= 0.15
    assert timed("/jobs") < 0.15


def test_invisible_and_purged_jobs_are_404_over_http(server: FakeJobServer) -> None:
    server.invisible_for(1)
    job_id = submit(server)
    assert [call(server, "GET", f"/jobs/{job_id}").status for _ in range(2)] == [404, 200]
    server.purge(job_id)
    assert call(server, "GET", f"/jobs/{job_id}").status == 404


def test_concurrent_clients_with_distinct_and_identical_keys(server: FakeJobServer) -> None:
    keys = [f"key-{i}" for i in range(20)] + ["shared"] * 20

    async def submit_all() -> list[Reply]:
        async with aiohttp.ClientSession(server.url) as session:
            return await asyncio.gather(*(fetch(session, "POST", "/jobs", {"idempotency_key": key}) for key in keys))

    replies = asyncio.run(submit_all())
    assert {reply.status for reply in replies} == {200}
    job_ids = [reply.body["job_id"] for reply in replies]
    assert len(set(job_ids[:20])) == 20
    assert len(set(job_ids[20:])) == 1
    assert len(server.jobs()) == 21
    assert server.counters()["submit"] == 40


def test_the_server_is_the_control_plane(server: FakeJobServer) -> None:
    assert isinstance(server, BackendControl)
    assert server.url.startswith("http://127.0.0.1:")
    submit(server)
    assert server.live_jobs() == server.service.live_jobs() != []
    server.reset()
    assert call(server, "GET", "/jobs").body == {"jobs": []}


def test_start_stop_leaves_no_thread_and_closes_the_port() -> None:
    server = FakeJobServer()
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018 - reading it is the test
    with server:
        port = port_of(server.url)
        with pytest.raises(RuntimeError):
            server.start()
        assert len(server_threads()) == 1
    assert server_threads() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5)
    server.stop()  # idempotent


def test_a_stopped_server_can_start_again() -> None:
    server = FakeJobServer()
    for _ in range(2):
        with server:
            assert call(server, "GET", "/jobs").status == 200
    assert server_threads() == []
