"""The Databricks Jobs API 2.1 fake over HTTPS: the edges it claims the real API has, then the plugin's
own connector (its aiohttp requests, unmodified) against it in a fresh interpreter that trusts the run's CA
the way the suite does, through ``SSL_CERT_FILE`` set before aiohttp is imported."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import aiohttp
import pytest

from fake_backends import BackendControl, NotModelled
from fake_backends.databricks import DatabricksApi, render_state
from fake_backends.tls import trust
from fake_backends.toolkit import FakeServer

API = "/api/2.1/jobs/runs"
AUTH = {"Authorization": "Bearer dapi-test-token"}
SPEC = {"run_name": "pi", "existing_cluster_id": "0710-112233-abcd1234",
        "spark_python_task": {"python_file": "entrypoint.py", "source": "GIT", "parameters": []}}


class Reply(NamedTuple):
    status: int
    body: Any


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(DatabricksApi, tls=True, default_outputs={"o0": 3.5}) as server:
        yield server


def call(fake: FakeServer, method: str, path: str, body: Any = None, headers: Any = None) -> Reply:
    """One HTTPS request that verifies the fake's certificate against the run's CA (ssl= is public API)."""
    context = ssl.create_default_context(cafile=str(trust() / "ca.pem"))

    async def once() -> Reply:
        async with aiohttp.ClientSession() as session:
            async with session.request(method, fake.url + path, json=body, ssl=context,
                                       headers=AUTH if headers is None else headers) as response:
                return Reply(response.status, await response.json())

    return asyncio.run(once())


def submit(fake: FakeServer, **extra: Any) -> int:
    reply = call(fake, "POST", f"{API}/submit", {**SPEC, **extra})
    assert reply.status == 200 and isinstance(reply.body["run_id"], int)
    return reply.body["run_id"]


def state_of(fake: FakeServer, run_id: Any) -> dict:
    reply = call(fake, "GET", f"{API}/get?run_id={run_id}")
    assert reply.status == 200, reply
    return reply.body["state"]


def test_the_fake_is_a_backend_control_whose_names_split_into_life_cycle_and_result(fake: FakeServer) -> None:
    assert isinstance(fake, BackendControl)
    assert fake.states.running == "RUNNING" and fake.states.succeeded == "TERMINATED/SUCCESS"
    assert render_state("TERMINATED/FAILED", None) == {
        "life_cycle_state": "TERMINATED", "result_state": "FAILED", "user_cancelled_or_timedout": False,
        "state_message": "Workload failed, see run output for details"}
    assert "result_state" not in render_state("QUARANTINED", "held") and render_state("RUNNING", None)[
        "state_message"] == ""


def test_a_run_walks_pending_running_terminated_success(fake: FakeServer) -> None:
    run_id = submit(fake)
    states = [state_of(fake, run_id) for _ in range(3)]
    assert [(s["life_cycle_state"], s.get("result_state")) for s in states] == \
        [("PENDING", None), ("RUNNING", None), ("TERMINATED", "SUCCESS")]
    run = call(fake, "GET", f"{API}/get?run_id={run_id}").body
    assert run["run_id"] == run_id and run["run_type"] == "SUBMIT_RUN" and run["run_name"] == "pi"
    assert f"#job/{run['job_id']}/run/{run_id}" in run["run_page_url"]


def test_the_same_idempotency_token_gives_the_same_run_and_a_new_one_a_new_run(fake: FakeServer) -> None:
    first = submit(fake, idempotency_token="flyte-exec-n0-0")
    assert submit(fake, idempotency_token="flyte-exec-n0-0") == first
    assert submit(fake, idempotency_token="flyte-exec-n0-1") != first
    assert len(fake.jobs()) == 2 and fake.jobs()[0].submits == 2


def test_an_idempotency_token_over_64_characters_is_rejected(fake: FakeServer) -> None:
    reply = call(fake, "POST", f"{API}/submit", {**SPEC, "idempotency_token": "x" * 65})
    assert reply.status == 400 and reply.body["error_code"] == "INVALID_PARAMETER_VALUE"


def test_a_submit_without_a_task_or_a_token_is_rejected(fake: FakeServer) -> None:
    assert call(fake, "POST", f"{API}/submit", {"run_name": "nothing"}).status == 400
    assert call(fake, "POST", f"{API}/submit", SPEC, headers={}).status == 401
    assert not fake.jobs()


def test_an_unknown_or_purged_run_is_400_invalid_parameter_value_on_get_and_cancel(fake: FakeServer) -> None:
    run_id = submit(fake)
    [state_of(fake, run_id) for _ in range(3)]
    fake.purge()
    for reply in (call(fake, "GET", f"{API}/get?run_id={run_id}"),
                  call(fake, "POST", f"{API}/cancel", {"run_id": str(run_id)})):
        assert reply.status == 400
        assert reply.body == {"error_code": "INVALID_PARAMETER_VALUE", "message": f"Run {run_id} does not exist."}


def test_cancel_is_asynchronous_and_a_no_op_once_the_run_is_terminal(fake: FakeServer) -> None:
    run_id = submit(fake)
    assert call(fake, "POST", f"{API}/cancel", {"run_id": run_id}) == Reply(200, {})
    assert state_of(fake, run_id)["life_cycle_state"] == "TERMINATED"
    cancelled = state_of(fake, run_id)
    assert (cancelled["result_state"], cancelled["user_cancelled_or_timedout"]) == ("CANCELED", True)
    assert call(fake, "POST", f"{API}/cancel", {"run_id": str(run_id)}) == Reply(200, {})
    assert fake.jobs()[0].cancels == 2


def test_a_scripted_failure_carries_its_message_and_faults_use_the_error_shape(fake: FakeServer) -> None:
    fake.script([fake.states.running, fake.states.failed], message="Task flyte_task failed: ZeroDivisionError")
    run_id = submit(fake)
    state_of(fake, run_id)
    assert state_of(fake, run_id)["state_message"] == "Task flyte_task failed: ZeroDivisionError"
    fake.fault("status", status=503)
    reply = call(fake, "GET", f"{API}/get?run_id={run_id}")
    assert reply.status == 503 and reply.body["error_code"] == "TEMPORARILY_UNAVAILABLE"


def test_a_successful_run_writes_outputs_pb_under_a_rendered_output_prefix(fake: FakeServer, tmp_path: Path) -> None:
    task = {"python_file": "entrypoint.py", "parameters": ["pyflyte-execute", "--output-prefix", str(tmp_path)]}
    run_id = submit(fake, spark_python_task=task)
    [state_of(fake, run_id) for _ in range(3)]
    from flyteidl.core import literals_pb2

    outputs = literals_pb2.LiteralMap.FromString((tmp_path / "outputs.pb").read_bytes())
    assert outputs.literals["o0"].scalar.primitive.float_value == 3.5


def test_eventual_visibility_is_not_modelled(fake: FakeServer) -> None:
    with pytest.raises(NotModelled, match="no eventual consistency"):
        fake.invisible_for(2)


# -- the plugin's connector, unmodified, in a fresh interpreter --------------------------------------

_DRIVER = textwrap.dedent("""
    import asyncio, json, sys
    from fake_backends.tls import trust
    trust()  # before aiohttp is imported, as the pytest plugin does
    assert "aiohttp" not in sys.modules
    from fake_backends.tls import untrusted_clients
    assert not untrusted_clients()
    from conformance.bindings.databricks import BINDINGS
    from flytekitplugins.spark.connector import DatabricksConnectorV2, DatabricksJobMetadata

    async def lifecycle(connector, template, fake, states):
        if states:
            fake.script(states)
        meta = await connector.create(task_template=template)
        phases = []
        for _ in range(3):
            try:
                phases.append((await connector.get(resource_meta=meta)).phase)
            except Exception as error:
                phases.append(f"{type(error).__name__}: {error}")
        return meta, phases

    async def main():
        binding = next(b for b in BINDINGS if b.connector.endswith("V2"))
        with binding.backend() as fake:
            connector, template = DatabricksConnectorV2(), binding.template(fake)
            meta, phases = await lifecycle(connector, template, fake, None)
            await connector.delete(resource_meta=meta)  # of a finished run: a no-op 200
            report = {"meta": json.loads(meta.encode()), "phases": phases, "spec": fake.jobs()[0].spec}
            for state in ("QUEUED", "BLOCKED", "WAITING_FOR_RETRY"):
                report[state] = (await lifecycle(connector, template, fake, ["RUNNING", state]))[1][-1]
            fake.purge()
            try:
                await connector.delete(resource_meta=meta)
            except Exception as error:
                report["purged_delete"] = f"{type(error).__name__}: {error}"
        print(json.dumps(report))

    asyncio.run(main())
""")


@pytest.fixture(scope="module")
def driven() -> dict:
    """What the plugin's DatabricksConnectorV2 did against the fake (one interpreter for every check)."""
    pytest.importorskip("flytekitplugins.spark")
    env = {**os.environ, "_FSEC_FLYTE_DATABRICKS_ACCESS_TOKEN": "dapi-canary-0123456789"}
    for variable in ("SSL_CERT_FILE", "CONFORMANCE_TLS_DIR"):
        env.pop(variable, None)
    done = subprocess.run([sys.executable, "-c", _DRIVER], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_plugin_reaches_the_https_fake_through_ssl_cert_file_alone(driven: dict) -> None:
    from flyteidl.core.execution_pb2 import TaskExecution

    assert driven["phases"] == [TaskExecution.INITIALIZING, TaskExecution.RUNNING, TaskExecution.SUCCEEDED]
    assert driven["spec"]["run_name"] == "flyte-estimate-pi" and "spark_python_task" in driven["spec"]
    assert "idempotency_token" not in driven["spec"]  # finding: BACKEND-CREATE-RETRY / BACKEND-NO-ORPHANS


def test_finding_the_access_token_is_stored_in_the_resource_meta(driven: dict) -> None:
    assert driven["meta"]["auth_token"] == "dapi-canary-0123456789"


def test_finding_documented_life_cycle_states_make_get_raise(driven: dict) -> None:
    for state in ("QUEUED", "BLOCKED", "WAITING_FOR_RETRY"):
        assert driven[state] == f"ValueError: Unrecognized state: {state.lower()}"


def test_finding_cancel_of_a_purged_run_raises(driven: dict) -> None:
    assert driven["purged_delete"].startswith("RuntimeError: Failed to cancel databricks job")


def test_without_the_run_ca_the_fake_refuses_the_client(fake: FakeServer) -> None:
    """TLS is verified for real: a client that does not trust the run's CA cannot talk to the fake."""
    script = textwrap.dedent(f"""
        import asyncio, aiohttp
        async def main():
            async with aiohttp.ClientSession() as session:
                try:
                    await session.get("{fake.url}{API}/get?run_id=1")
                except aiohttp.ClientConnectorCertificateError:
                    print("refused")
        asyncio.run(main())
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "CONFORMANCE_TLS_DIR")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "refused", done.stderr[-2000:]


def test_a_binding_whose_aiohttp_came_before_the_ca_errors_with_the_cause_instead_of_failing_tls() -> None:
    """aiohttp builds its default SSL context at import: imported before trust() (a conftest importing
    flytekit), it refuses the fake, and the binding says so rather than let create() fail as the connector's."""
    script = textwrap.dedent("""
        import aiohttp
        from fake_backends.tls import untrusted_clients
        from conformance.bindings.databricks import BINDINGS
        print(sorted(untrusted_clients()))
        try:
            BINDINGS[0].backend().__enter__()
        except RuntimeError as error:
            print(error)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "CONFORMANCE_TLS_DIR")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    lines = done.stdout.splitlines()
    assert lines[0] == "['aiohttp']" and "imported before the suite trusted its test CA" in lines[1], done.stderr
