"""The OpenAI Batch API fake, driven by the real ``openai`` client: the edges it claims the real API has."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Iterator

import pytest

openai = pytest.importorskip("openai")

from fake_backends import BackendControl, NotModelled  # noqa: E402
from fake_backends.openai_batches import FakeOpenAIServer, serve_openai  # noqa: E402

CHAT = "/v1/chat/completions"


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with serve_openai() as server:
        yield server


@pytest.fixture
def client(fake: FakeOpenAIServer) -> "openai.OpenAI":
    """The client as the connector builds it, without retries so an error is seen once."""
    return openai.OpenAI(api_key="sk-test", organization="org-test", base_url=fake.base_url, max_retries=0)


def create(client: "openai.OpenAI", **extra: object) -> "openai.types.Batch":
    return client.batches.create(input_file_id="file-abc", endpoint=CHAT, completion_window="24h", **extra)


def test_the_fake_is_a_backend_control_in_openai_vocabulary(fake: FakeOpenAIServer) -> None:
    assert isinstance(fake, BackendControl)
    assert (fake.states.running, fake.states.succeeded, fake.states.cancelling) == \
        ("in_progress", "completed", "cancelling")
    assert "expired" in fake.states.terminal


def test_create_answers_a_validating_batch_with_the_request_echoed(client: "openai.OpenAI") -> None:
    batch = create(client, metadata={"team": "evals"})
    assert batch.id.startswith("batch_") and len(batch.id) == len("batch_") + 32
    assert (batch.object, batch.status, batch.endpoint, batch.input_file_id, batch.completion_window) == \
        ("batch", "validating", CHAT, "file-abc", "24h")
    assert batch.metadata == {"team": "evals"}
    assert batch.expires_at == batch.created_at + 24 * 3600


def test_a_batch_walks_to_completed_and_then_reads_the_same(client: "openai.OpenAI") -> None:
    batch = create(client)
    statuses = [client.batches.retrieve(batch.id).status for _ in range(3)]
    assert statuses == ["validating", "in_progress", "completed"]
    done = client.batches.retrieve(batch.id)
    assert done.output_file_id and done.completed_at and done.in_progress_at
    assert done.request_counts.completed == done.request_counts.total > 0
    assert client.batches.retrieve(batch.id).to_dict() == done.to_dict()


def test_a_failed_batch_carries_its_reason_in_errors(fake: FakeOpenAIServer, client: "openai.OpenAI") -> None:
    fake.script(["in_progress", "failed"], message="token_limit_exceeded for gpt-4o-mini")
    batch = create(client)
    client.batches.retrieve(batch.id)
    failed = client.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.failed_at
    assert failed.errors.object == "list"
    assert failed.errors.data[0].message == "token_limit_exceeded for gpt-4o-mini"


def test_cancel_moves_a_live_batch_to_cancelling_then_cancelled(client: "openai.OpenAI") -> None:
    batch = create(client)
    assert client.batches.cancel(batch.id).status == "cancelling"
    assert client.batches.cancel(batch.id).status == "cancelling"  # again while cancelling: 200
    cancelled = client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.cancelling_at and cancelled.cancelled_at
    assert client.batches.cancel(batch.id).status == "cancelled"  # of a cancelled batch: 200, unchanged


@pytest.mark.parametrize("script", [["completed"], ["failed"], ["expired"]])
def test_cancel_of_a_finished_batch_is_a_409_conflict(fake: FakeOpenAIServer, client: "openai.OpenAI",
                                                     script: list) -> None:
    fake.script(script)
    batch = create(client)
    client.batches.retrieve(batch.id)
    with pytest.raises(openai.ConflictError) as raised:
        client.batches.cancel(batch.id)
    assert raised.value.status_code == 409
    assert raised.value.body == {"message": f"Cannot cancel a batch with status '{script[0]}'.",
                                 "type": "invalid_request_error", "param": None, "code": None}
    assert [job.cancels for job in fake.jobs()] == [1]


@pytest.mark.parametrize("batch_id", ["batch_0000000000000000000000000000beef", "batch_not-hex"])
def test_an_unknown_batch_is_a_404_naming_it(client: "openai.OpenAI", batch_id: str) -> None:
    for call in (client.batches.retrieve, client.batches.cancel):
        with pytest.raises(openai.NotFoundError) as raised:
            call(batch_id)
        assert raised.value.body == {"message": f"No batch found with id '{batch_id}'.",
                                     "type": "invalid_request_error", "param": None, "code": None}


def test_without_a_bearer_key_every_call_is_401(fake: FakeOpenAIServer) -> None:
    request = urllib.request.Request(f"{fake.base_url}/batches", method="GET")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code == 401
    assert json.loads(raised.value.read())["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("params", [{"completion_window": "1h"}, {"endpoint": "/v1/fine_tuning/jobs"},
                                    {"input_file_id": ""}])
def test_an_invalid_create_is_a_400_and_creates_nothing(fake: FakeOpenAIServer, client: "openai.OpenAI",
                                                       params: dict) -> None:
    body = {"input_file_id": "file-abc", "endpoint": CHAT, "completion_window": "24h", **params}
    with pytest.raises(openai.BadRequestError):
        client.post("/batches", body=body, cast_to=object)
    assert fake.jobs() == []


def test_creates_are_never_deduplicated(fake: FakeOpenAIServer, client: "openai.OpenAI") -> None:
    """No idempotency key exists on batch create, and the client sends none: two creates, two batches."""
    assert client._idempotency_header is None
    first, second = create(client), create(client)
    assert first.id != second.id and len(fake.live_jobs()) == 2


def test_list_pages_newest_first(client: "openai.OpenAI") -> None:
    ids = [create(client).id for _ in range(3)]
    page = client.batches.list(limit=2)
    assert [batch.id for batch in page.data] == ids[:0:-1] and page.has_more
    rest = client.batches.list(limit=2, after=ids[1])
    assert [batch.id for batch in rest.data] == [ids[0]] and not rest.has_more
    assert [batch.id for batch in client.batches.list()] == ids[::-1]


def test_faults_answer_in_the_openai_error_shape_and_the_client_retries(fake: FakeOpenAIServer) -> None:
    retrying = openai.OpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=2)
    batch = create(retrying)
    fake.fault("status", status=503, times=2, retry_after=0.01)
    assert retrying.batches.retrieve(batch.id).status == "validating"
    fake.fault("status", status=503)
    with pytest.raises(openai.InternalServerError) as raised:
        openai.OpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=0).batches.retrieve(batch.id)
    assert raised.value.body["type"] == "server_error"
    assert fake.counters()["status"] == 4


def test_a_lost_create_answer_leaves_a_batch_the_retry_does_not_find(fake: FakeOpenAIServer) -> None:
    """The client retries a dropped connection; with no idempotency key the retry is a second batch."""
    fake.fault("submit", kind="lost")
    batch = create(openai.OpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=1))
    assert [job.state for job in fake.jobs()] == ["validating", "validating"]
    assert batch.id.endswith("2")


def test_invisibility_and_purge_are_not_modelled(fake: FakeOpenAIServer) -> None:
    with pytest.raises(NotModelled, match="documents no delay"):
        fake.invisible_for(2)
    with pytest.raises(NotModelled, match="no endpoint that deletes a batch"):
        fake.purge()
