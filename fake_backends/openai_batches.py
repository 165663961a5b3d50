"""A fake of the OpenAI Batch API (``/v1/batches``), for ``flytekitplugins.openai``'s BatchEndpointConnector.

Modelled on the API reference (https://developers.openai.com/api/reference/resources/batches) as the
``openai`` Python client (3.x, ``openai.resources.batches``) speaks it:

- ``POST /v1/batches`` (create: ``input_file_id``, ``endpoint``, ``completion_window``, ``metadata``,
  ``output_expires_after``) answers the Batch object in ``validating``;
- ``GET /v1/batches/{batch_id}`` (retrieve) answers the full Batch object: ``status``, the per-status
  timestamps (fixed once reached, so a finished batch reads the same on every poll), ``errors``
  (``{"object": "list", "data": [{code, message, param, line}]}`` on a failed batch), ``request_counts``,
  ``output_file_id`` / ``error_file_id``;
- ``POST /v1/batches/{batch_id}/cancel``: a live batch goes ``cancelling`` (``cancelled`` on its next
  read); see :meth:`OpenAIBatchApi._cancel` for finished batches;
- ``GET /v1/batches`` (list, newest first, ``after`` / ``limit`` cursor page).

Errors are ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status (401 without a
bearer key, 400 for an invalid create, 404 for an unknown batch). States: ``validating``,
``in_progress``, ``completed``, ``failed``, ``cancelling``, ``cancelled``, and ``expired`` (terminal);
``finalizing`` is a real state that the default walk does not show (a script may).

Not modelled, with the reason (the clause that needs it is skipped):

- idempotency: OpenAI has no idempotency key on batch create (the reference lists none, and the
  ``openai`` client sends none: ``_idempotency_header`` stays None), so every create is a new batch;
  retried creates are *not* deduplicated here either — that is the real behaviour, not a gap.
- eventual visibility (``invisible_for``): the reference documents no delay before a new batch can be
  retrieved, and no report of one was found (unlike Anthropic's message batches); reads are consistent.
- purge: the API has no endpoint that deletes a batch and documents no expiry of batch objects.
- Files (``/v1/files``): the connector never calls them (upload and download are separate container
  tasks); ``input_file_id`` is not checked against uploaded files.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .control import Job, NotModelled
from .jobs import InvalidRequest, JobConflict, JobNotFound
from .states import States
from .toolkit import FakeServer, ServiceApi, json_body

__all__ = ["OPENAI_STATES", "OpenAIBatchApi", "FakeOpenAIServer", "serve_openai"]

OPENAI_STATES = States(
    submitted="validating",
    pending="validating",
    running="in_progress",
    succeeded="completed",
    failed="failed",
    cancelling="cancelling",
    cancelled="cancelled",
    extra_terminal=frozenset({"expired"}),
)
"""The Batch object's ``status`` values (https://developers.openai.com/api/reference/resources/batches)."""

ENDPOINTS = frozenset({"/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions",
                       "/v1/moderations", "/v1/images/generations", "/v1/images/edits", "/v1/videos"})
"""Endpoints a batch may target (BatchCreateParams.endpoint in the client)."""

COMPLETION_WINDOW = "24h"
"""The only completion window the API accepts."""

WINDOW_SECONDS = 24 * 3600
REQUESTS = 2
"""Requests in every fake batch's input file: enough for counts to mean something."""

_STAMPS = {"in_progress": "in_progress_at", "finalizing": "finalizing_at", "completed": "completed_at",
           "failed": "failed_at", "expired": "expired_at", "cancelling": "cancelling_at",
           "cancelled": "cancelled_at"}
"""The timestamp each status sets when a batch first shows it."""


def batch_id_of(job_id: str) -> str:
    """``job-7`` -> ``batch_000…007``: the real ids' shape (``batch_`` and 32 hex digits), reversible."""
    return f"batch_{int(job_id.removeprefix('job-')):032x}"


def job_id_of(batch_id: str) -> str:
    """The job behind a batch id; an id of any other shape names no job (404, as an unknown id)."""
    try:
        return f"job-{int(batch_id.removeprefix('batch_'), 16)}"
    except ValueError:
        raise JobNotFound(f"No batch found with id '{batch_id}'.") from None


@contextlib.contextmanager
def _named(batch_id: str) -> Iterator[None]:
    """An unknown batch is 404 with the batch's id in the message, never the job service's own id."""
    try:
        yield
    except JobNotFound:
        raise JobNotFound(f"No batch found with id '{batch_id}'.") from None


def error_body(status: int, message: str) -> web.Response:
    """OpenAI's error envelope (https://developers.openai.com/api/docs/guides/error-codes)."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return web.json_response(body, status=status, headers={"x-request-id": f"req_{uuid.uuid4().hex}"})


@dataclass
class _Stamps:
    """When a batch was created and first showed each status: fixed once set, like the real object's."""

    created_at: int
    reached: dict[str, int] = field(default_factory=dict)

    def see(self, status: str) -> None:
        if status in _STAMPS and status not in self.reached:
            self.reached[status] = int(time.time())


def _request_counts(status: str) -> dict[str, int]:
    """Counts as the real object reports them: zero while validating or after a failed validation."""
    done = {"completed": REQUESTS, "expired": 1, "cancelled": 1}.get(status, 0)
    total = 0 if status in ("validating", "failed") else REQUESTS
    return {"total": total, "completed": done, "failed": 0}


def _errors(job: Job) -> dict[str, Any] | None:
    """A failed batch carries why (the scripted message); every other status has ``errors: null``."""
    if job.state != "failed":
        return None
    message = job.message or "The input file is invalid."
    return {"object": "list", "data": [{"code": "invalid_request", "message": message, "param": None, "line": None}]}


class OpenAIBatchApi(ServiceApi):
    """The Batch API's routes over the shared job service (see the module docstring)."""

    name = "openai"
    states = OPENAI_STATES

    def __init__(self, service: Any) -> None:
        super().__init__(service)
        self._stamps: dict[str, _Stamps] = {}  # touched only on the server's event loop thread

    def routes(self) -> Iterable[web.RouteDef]:
        return [
            web.post("/v1/batches", self._create, name="submit"),
            web.get("/v1/batches", self._list, name="list"),
            web.get("/v1/batches/{batch_id}", self._retrieve, name="status"),
            web.post("/v1/batches/{batch_id}/cancel", self._cancel, name="cancel"),
        ]

    def error(self, status: int, message: str) -> web.Response:
        return error_body(status, message)

    def not_modelled(self, control: str) -> str | None:
        return {"invisible_for": "the OpenAI Batch API documents no delay before a created batch can be "
                                 "retrieved (reads are consistent; https://developers.openai.com/api/"
                                 "reference/resources/batches)",
                "purge": "the OpenAI Batch API has no endpoint that deletes a batch and documents no expiry "
                         "of batch objects: a batch id stays retrievable"}.get(control)

    async def _create(self, request: web.Request) -> web.Response:
        _authorized(request)
        body = await json_body(request)
        job = self.service.submit(_create_params(body), {})
        self._stamps[job.job_id] = _Stamps(created_at=int(time.time()))
        return self._answer(job)

    async def _retrieve(self, request: web.Request) -> web.Response:
        _authorized(request)
        batch_id = request.match_info["batch_id"]
        with _named(batch_id):
            return self._answer(self.service.status(job_id_of(batch_id)))

    async def _cancel(self, request: web.Request) -> web.Response:
        """Cancel as the real API answers it.

        The reference documents only the 200 for an in-progress batch ("Cancels an in-progress batch.
        The batch will be in status ``cancelling`` for up to 10 minutes, before changing to
        ``cancelled``": https://developers.openai.com/api/reference/resources/batches/methods/cancel).
        Observed answers, from code that calls the real API: a batch that already completed, failed
        or expired gives HTTP 409 ``invalid_request_error`` "Cannot cancel a batch with status
        'completed'." (clients match on exactly that status and text); a batch already cancelled (or
        cancelling) answers 200 with the batch (BerriAI/litellm#36034: a second cancel of a cancelled
        OpenAI batch, "idempotent 200").
        """
        _authorized(request)
        batch_id = request.match_info["batch_id"]
        job_id = job_id_of(batch_id)
        try:
            with _named(batch_id):
                return self._answer(self.service.cancel(job_id))
        except JobConflict:
            job = self._job(job_id)
            if job.state == self.states.cancelled:
                return self._answer(job)
            return error_body(409, f"Cannot cancel a batch with status '{job.state}'.")

    async def _list(self, request: web.Request) -> web.Response:
        """A cursor page, newest first (https://developers.openai.com/api/reference/resources/batches/methods/list)."""
        _authorized(request)
        batches = [self._view(job) for job in reversed(self.service.list_jobs())]
        after, limit = request.query.get("after"), _limit(request.query.get("limit", "20"))
        start = next((i + 1 for i, batch in enumerate(batches) if batch["id"] == after), 0)
        page = batches[start:start + limit]
        return web.json_response({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                                  "last_id": page[-1]["id"] if page else None,
                                  "has_more": start + limit < len(batches)})

    def _job(self, job_id: str) -> Job:
        """A job's snapshot without advancing it (a cancel must not count as a status read)."""
        return next(job for job in self.service.jobs() if job.job_id == job_id)

    def _answer(self, job: Job) -> web.Response:
        return web.json_response(self._view(job), headers={"x-request-id": f"req_{uuid.uuid4().hex}"})

    def _view(self, job: Job) -> dict[str, Any]:
        """The Batch object (https://developers.openai.com/api/reference/resources/batches/methods/retrieve)."""
        stamps = self._stamps.setdefault(job.job_id, _Stamps(created_at=int(time.time())))
        stamps.see(job.state)
        batch_id = batch_id_of(job.job_id)
        spec = job.spec
        view: dict[str, Any] = {
            "id": batch_id, "object": "batch", "endpoint": spec["endpoint"], "model": None,
            "errors": _errors(job), "input_file_id": spec["input_file_id"],
            "completion_window": spec["completion_window"], "status": job.state,
            "output_file_id": f"file-{batch_id[6:]}" if job.state == "completed" else None,
            "error_file_id": None, "created_at": stamps.created_at,
            "expires_at": stamps.created_at + WINDOW_SECONDS,
            "request_counts": _request_counts(job.state), "metadata": spec.get("metadata"),
        }
        view.update({stamp: stamps.reached.get(status) for status, stamp in _STAMPS.items()})
        return view


def _authorized(request: web.Request) -> None:
    """Every Batch API call needs ``Authorization: Bearer <key>``; without one the API answers 401."""
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        raise _Unauthorized()


class _Unauthorized(web.HTTPUnauthorized):
    """Rendered by the shared middleware as the error envelope with status 401."""

    def __init__(self) -> None:
        super().__init__(reason="You didn't provide an API key. You need to provide your API key in an "
                                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


def _create_params(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a create request as the API does (400 naming the parameter); the batch's spec."""
    for name in ("input_file_id", "endpoint", "completion_window"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise InvalidRequest(f"Missing required parameter: '{name}'.")
    if body["endpoint"] not in ENDPOINTS:
        raise InvalidRequest(f"Invalid value for 'endpoint': {body['endpoint']!r} is not supported.")
    if body["completion_window"] != COMPLETION_WINDOW:
        raise InvalidRequest(f"Invalid value for 'completion_window': only '{COMPLETION_WINDOW}' is supported.")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16):
        raise InvalidRequest("Invalid 'metadata': at most 16 string key-value pairs.")
    return {name: body.get(name) for name in ("input_file_id", "endpoint", "completion_window", "metadata")}


def _limit(text: str) -> int:
    """``limit`` ranges 1..100 (default 20); anything else is the API's 400."""
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise InvalidRequest("Invalid 'limit': integer between 1 and 100 expected.")
    return int(text)


class FakeOpenAIServer(FakeServer):
    """The Batch API on 127.0.0.1 (plain HTTP: the client takes any ``OPENAI_BASE_URL``).

    A purge raises :class:`NotModelled`: no real batch is ever forgotten (see the module docstring).
    """

    def __init__(self) -> None:
        super().__init__(OpenAIBatchApi)
        self.purge = self._no_purge

    def _no_purge(self, job_id: str | None = None) -> None:
        raise NotModelled(self.api.not_modelled("purge"))

    @property
    def base_url(self) -> str:
        """What ``OPENAI_BASE_URL`` must say: the client appends ``/batches`` to it."""
        return f"{self.url}/v1"


def serve_openai() -> FakeOpenAIServer:
    """A fresh, not yet started fake; use it as a context manager (``with serve_openai() as fake``)."""
    return FakeOpenAIServer()
