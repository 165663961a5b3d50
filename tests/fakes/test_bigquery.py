"""The BigQuery fake driven by google-cloud-bigquery's own Client, redirected the way the binding does it.

Each test pins an answer the real jobs API documents (see fake_backends.bigquery for the references):
what the client library does with it is what the BigQueryConnector will see.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

bigquery = pytest.importorskip("google.cloud.bigquery")
exceptions = pytest.importorskip("google.api_core.exceptions")

from fake_backends import NotModelled  # noqa: E402
from fake_backends.bigquery import BIGQUERY_STATES as STATES  # noqa: E402
from fake_backends.bigquery import FakeBigQueryServer, serve_bigquery  # noqa: E402

PROJECT, REGION = "flyte-conformance", "us-central1"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBigQueryServer]:
    """A started fake, and the environment the binding sets: no credential, no host but the fake."""
    with serve_bigquery() as server:
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", server.url)
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", server.credentials_file)
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
        yield server


@pytest.fixture
def client(fake: FakeBigQueryServer) -> Iterator[Any]:
    """A bare ``bigquery.Client()``, as the connector's get() and delete() build it."""
    with bigquery.Client() as bare:
        yield bare


def submit(location: str = REGION, **options: Any) -> Any:
    """``Client.query`` as the connector's create() calls it: a query job, named by the client."""
    with bigquery.Client(project=PROJECT, location=location) as creator:
        return creator.query("SELECT @version", job_config=bigquery.QueryJobConfig(
            query_parameters=[bigquery.ScalarQueryParameter("version", "INT64", 1)]), **options)


def test_credentials_file_needs_no_token_endpoint(fake: FakeBigQueryServer) -> None:
    import google.auth

    credentials, project = google.auth.default(scopes=bigquery.Client.SCOPE)
    assert credentials.valid and credentials.token and project == PROJECT  # nothing to refresh, so no network


def test_a_query_job_walks_pending_running_done_into_an_anonymous_table(fake, client) -> None:
    job = submit()
    assert job.state == "PENDING" and fake.jobs()[0].inputs == {"version": {"value": "1"}}
    states = [client.get_job(job.job_id, PROJECT, REGION).state for _ in range(4)]
    assert states == ["PENDING", "RUNNING", "DONE", "DONE"]
    done = client.get_job(job.job_id, PROJECT, REGION)
    assert done.errors is None and done.destination.table_id.startswith("anon")


def test_a_failed_job_is_done_with_the_scripted_message_as_its_error_result(fake, client) -> None:
    fake.script([STATES.running, STATES.failed], message="Syntax error: Unexpected end of script")
    job = submit()
    client.get_job(job.job_id, PROJECT, REGION)
    failed = client.get_job(job.job_id, PROJECT, REGION)
    assert failed.state == "DONE"
    assert failed.error_result == {"reason": "invalidQuery", "location": "query",
                                   "message": "Syntax error: Unexpected end of script"}
    assert failed.errors == [failed.error_result]


def test_an_unknown_scripted_state_reaches_the_client_as_is(fake, client) -> None:
    fake.script([STATES.running, "QUARANTINED"])
    job = submit()
    assert [client.get_job(job.job_id, PROJECT, REGION).state for _ in range(2)] == ["RUNNING", "QUARANTINED"]


def test_a_regional_job_is_found_only_with_its_location(fake, client) -> None:
    job = submit()
    with pytest.raises(exceptions.NotFound, match=f"Not found: Job {PROJECT}:US.{job.job_id}"):
        client.get_job(job.job_id, PROJECT)
    with pytest.raises(exceptions.NotFound):
        client.get_job(job.job_id, PROJECT, "europe-west1")
    assert client.get_job(job.job_id, PROJECT, REGION).job_id == job.job_id
    assert client.get_job(submit(location="US").job_id, PROJECT).location == "US"  # multi-region: no location


def test_errors_have_googles_json_shape(fake, client) -> None:
    with pytest.raises(exceptions.NotFound) as missing:
        client.get_job("no-such-job", PROJECT, REGION)
    assert missing.value.errors == [{"message": f"Not found: Job {PROJECT}:{REGION}.no-such-job",
                                     "domain": "global", "reason": "notFound"}]
    assert missing.value.response.json()["error"]["status"] == "NOT_FOUND"


def test_a_second_insert_with_the_same_job_id_is_409_duplicate(fake) -> None:
    submit(job_id="nightly-1", job_retry=None)  # a named job is not retried under a new id
    with pytest.raises(exceptions.Conflict, match=f"Already Exists: Job {PROJECT}:{REGION}.nightly-1") as taken:
        submit(job_id="nightly-1", job_retry=None)
    assert taken.value.errors[0]["reason"] == "duplicate"
    assert len(fake.jobs()) == 1


def test_a_lost_insert_answer_is_recovered_by_the_client_not_duplicated(fake) -> None:
    fake.fault("submit", kind="lost")
    job = submit()
    (only,) = fake.jobs()
    assert only.submits == 2 and only.spec["jobId"] == job.job_id  # retried with its id: 409, then jobs.get


def test_a_503_on_jobs_get_is_retried_by_the_client(fake, client) -> None:
    job = submit()
    fake.fault("status", status=503, times=2)
    assert client.get_job(job.job_id, PROJECT, REGION).state == "PENDING"
    assert fake.counters()["status"] == 3


def test_cancel_stops_a_live_job_on_its_next_read(fake, client) -> None:
    job = submit()
    assert client.cancel_job(job.job_id, PROJECT, REGION).state == "RUNNING"
    stopped = client.get_job(job.job_id, PROJECT, REGION)
    assert stopped.state == "DONE" and stopped.error_result["reason"] == "stopped"
    assert not fake.live_jobs()


@pytest.mark.parametrize("walk", [STATES.default_walk, (STATES.running, STATES.failed)])
def test_cancel_of_a_finished_job_answers_the_job_as_it_is(fake, client, walk) -> None:
    fake.script(list(walk), message="boom")
    job = submit()
    finished = [client.get_job(job.job_id, PROJECT, REGION) for _ in walk][-1]
    answered = client.cancel_job(job.job_id, PROJECT, REGION)
    assert (answered.state, answered.error_result) == (finished.state, finished.error_result)


def test_a_purged_job_is_not_found(fake, client) -> None:
    job = submit()
    fake.purge(fake.jobs()[0].job_id)
    with pytest.raises(exceptions.NotFound):
        client.cancel_job(job.job_id, PROJECT, REGION)


def test_eventual_visibility_is_not_modelled(fake) -> None:
    with pytest.raises(NotModelled, match="python-bigquery#2134"):
        fake.invisible_for(2)
