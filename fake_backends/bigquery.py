"""A fake of the BigQuery API v2 jobs resource, for ``flytekitplugins.bigquery``'s BigQueryConnector.

Modelled on the REST reference (https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs) as
``google-cloud-bigquery`` 3.x speaks it. The client reaches the fake through ``BIGQUERY_EMULATOR_HOST``
(``google.cloud.bigquery._helpers._get_bigquery_host``: a base URL; requests go to
``{host}/bigquery/v2/projects/...``):

- ``POST /bigquery/v2/projects/{projectId}/jobs`` (jobs.insert; ``Client.query`` uses it by default,
  ``api_method="INSERT"``): the client names the job (``jobReference.jobId``, a fresh uuid per
  ``query()`` call) and the fake answers the Job resource, PENDING. A second insert with the same
  jobId is 409 ``duplicate`` ("Already Exists: Job p:LOC.id"), as the real service answers
  (googleapis/python-bigquery#738); the client recovers a retried insert with jobs.get.
- ``GET .../jobs/{jobId}?location=`` (jobs.get): the Job resource. A regional job is found only with
  its location (the reference: location must be given unless the job is in the US or EU
  multi-region); an unknown job, or a wrong location, is 404 ``notFound`` "Not found: Job p:LOC.id".
- ``POST .../jobs/{jobId}/cancel?location=`` (jobs.cancel): ``{"kind": "bigquery#jobCancelResponse",
  "job": ...}``; see :meth:`BigQueryApi._cancel` for a finished job.

Errors have Google's JSON shape ``{"error": {"code", "message", "errors": [{"message", "domain",
"reason"}], "status"}}`` (https://cloud.google.com/bigquery/docs/error-messages); a 5xx says
``backendError``, which the client's ``DEFAULT_RETRY`` retries.

States. The wire has three (``status.state``: PENDING, RUNNING, DONE); a failed or cancelled job is
DONE with ``status.errorResult`` (and the same error in ``status.errors``). The vocabulary below names
each role after what the wire shows: ``DONE+errorResult`` renders DONE with errorResult
``{"reason": "invalidQuery", "message": <the scripted message>}``; ``DONE+stopped`` renders DONE
with the ``stopped`` error a cancelled job has; ``RUNNING+cancelRequested`` renders RUNNING. Any
other scripted name (an unknown state) is sent as ``status.state`` unchanged.

A query job without a destination writes to an anonymous table, so every job's
``configuration.query.destinationTable`` names one (``_<hash>`` dataset, ``anon<hash>`` table), as
the real service fills it in.

Not modelled: jobs.query, jobs.list, jobs.getQueryResults, jobs.delete, tables and data (the
connector calls none of them); OAuth (the client is given a pre-issued token, see
:func:`write_credentials`); eventual visibility (:meth:`BigQueryApi.not_modelled`). Purge is modelled:
"Job information is available for a six month period after creation" (jobs.list reference), and
jobs.delete removes a job's metadata sooner.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from aiohttp import web

from .control import Job
from .jobs import InvalidRequest, JobConflict, JobNotFound
from .states import States
from .toolkit import FakeServer, ServiceApi, json_body

__all__ = ["BIGQUERY_STATES", "BigQueryApi", "FakeBigQueryServer", "serve_bigquery", "write_credentials"]

BIGQUERY_STATES = States(
    submitted="PENDING",
    pending="PENDING",
    running="RUNNING",
    succeeded="DONE",
    failed="DONE+errorResult",
    cancelling="RUNNING+cancelRequested",
    cancelled="DONE+stopped",
)
"""Roles in BigQuery's words: ``status.state`` plus, where it matters, the errorResult (module docstring)."""

JOBS = "/bigquery/v2/projects/{projectId}/jobs"
MULTI_REGIONS = frozenset({"US", "EU"})
"""Locations whose jobs are found without ``?location=`` (jobs.get reference, ``location``)."""

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,1024}$")
"""jobReference.jobId: letters, numbers, underscores or dashes, at most 1,024 characters."""

_REASONS = {400: ("invalid", "INVALID_ARGUMENT"), 401: ("authError", "UNAUTHENTICATED"),
            403: ("accessDenied", "PERMISSION_DENIED"), 404: ("notFound", "NOT_FOUND"),
            409: ("duplicate", "ALREADY_EXISTS"), 429: ("rateLimitExceeded", "RESOURCE_EXHAUSTED"),
            500: ("internalError", "INTERNAL"), 503: ("backendError", "UNAVAILABLE")}
"""HTTP status -> (errors[].reason, error.status), per BigQuery's error-messages reference."""

_STOPPED = {"reason": "stopped", "message": "Job execution was cancelled: User requested cancellation"}


def _error_body(status: int, message: str) -> dict[str, Any]:
    reason, name = _REASONS.get(status, ("backendError" if status >= 500 else "invalid", "UNKNOWN"))
    return {"error": {"code": status, "message": message,
                      "errors": [{"message": message, "domain": "global", "reason": reason}], "status": name}}


def _status(job: Job) -> dict[str, Any]:
    """``status`` of the Job resource: failure and cancellation are DONE with an errorResult."""
    if job.state == BIGQUERY_STATES.failed:
        error = {"reason": "invalidQuery", "location": "query", "message": job.message or "Query failed"}
    elif job.state == BIGQUERY_STATES.cancelled:
        error = _STOPPED
    elif job.state == BIGQUERY_STATES.cancelling:
        return {"state": "RUNNING"}
    else:
        return {"state": job.state}
    return {"state": "DONE", "errorResult": error, "errors": [error]}


def _anonymous_table(project: str, job_id: str) -> dict[str, str]:
    """The temporary table a query without a destination writes to (its names are hashes)."""
    return {"projectId": project, "datasetId": "_" + hashlib.sha1(project.encode()).hexdigest(),
            "tableId": "anon" + hashlib.sha1(job_id.encode()).hexdigest()}


def _found_in(location: str, asked: str | None) -> bool:
    """Whether jobs.get/cancel with ``?location=asked`` reaches a job that runs in ``location``."""
    if asked is None:
        return location.upper() in MULTI_REGIONS
    return asked.upper() == location.upper()


class BigQueryApi(ServiceApi):
    """jobs.insert / get / cancel of the BigQuery API v2 (module docstring)."""

    name = "bigquery"
    states = BIGQUERY_STATES

    def routes(self) -> Iterable[web.RouteDef]:
        return [
            web.post(JOBS, self._insert, name="submit"),
            web.get(JOBS + "/{jobId}", self._get, name="status"),
            web.post(JOBS + "/{jobId}/cancel", self._cancel, name="cancel"),
        ]

    def error(self, status: int, message: str) -> web.Response:
        return web.json_response(_error_body(status, message), status=status)

    def not_modelled(self, control: str) -> str | None:
        if control == "invisible_for":
            return ("BigQuery's jobs.insert answers with the created Job and jobs.get documents no delay before "
                    "it can be read; the one reported 404 for a started job (googleapis/python-bigquery#2134) "
                    "follows a retried insert inside Client.query(), which retries it before returning")
        return None

    async def _insert(self, request: web.Request) -> web.Response:
        project = request.match_info["projectId"]
        body = await json_body(request)
        reference = body.get("jobReference") or {}
        job_id, location = reference.get("jobId", ""), reference.get("location") or "US"
        configuration = body.get("configuration")
        if not _JOB_ID.match(str(job_id)):
            raise InvalidRequest(f"Invalid job ID \"{job_id}\": letters, numbers, underscores or dashes only")
        if not isinstance(configuration, dict) or not isinstance(configuration.get("query"), dict):
            raise InvalidRequest("Required parameter is missing: configuration.query")
        spec = {"projectId": project, "jobId": job_id, "location": location, "configuration": configuration}
        parameters = configuration["query"].get("queryParameters", [])
        # Any keys: the request's own parameter names, recorded as sent (a positional parameter has none: None)
        inputs: dict[Any, Any] = {p.get("name"): p.get("parameterValue") for p in parameters if isinstance(p, dict)}
        job = self.service.submit(spec, inputs, idempotency_key=f"{project}:{job_id}")
        if job.submits > 1:  # the id is taken: the real service refuses, it does not deduplicate
            raise JobConflict(f"Already Exists: Job {project}:{location}.{job_id}")
        return web.json_response(self._resource(job))

    async def _get(self, request: web.Request) -> web.Response:
        return web.json_response(self._resource(self.service.status(self._located(request).job_id)))

    async def _cancel(self, request: web.Request) -> web.Response:
        """Cancel is a request: a live job is DONE+stopped on its next read. A finished job is answered as
        it is, 200 with no error: jobs.cancel returns "the final state of the job", and Google's own ``bq
        cancel`` prints "Job completed before it could be cancelled" for a DONE job without the stopped error
        (https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/cancel)."""
        job = self._located(request)
        try:
            job = self.service.cancel(job.job_id)
        except JobConflict:  # finished: its state is final, so the job as just read is the answer
            pass
        return web.json_response({"kind": "bigquery#jobCancelResponse", "job": self._resource(job)})

    def _located(self, request: web.Request) -> Job:
        """The job the path names, as last read, if ``?location=`` finds it (else 404).

        Looked up by the insert's key (``project:jobId``), so a job whose insert answer was lost is
        found too, and a purged one is not.
        """
        info, asked = request.match_info, request.query.get("location")
        key = f"{info['projectId']}:{info['jobId']}"
        job = next((j for j in self.service.jobs() if j.idempotency_key == key), None)
        if job is None or not _found_in(job.spec["location"], asked):
            raise JobNotFound(f"Not found: Job {info['projectId']}:{asked or 'US'}.{info['jobId']}")
        return job

    def _resource(self, job: Job) -> dict[str, Any]:
        """The Job resource (https://cloud.google.com/bigquery/docs/reference/rest/v2/Job)."""
        project, job_id, location = job.spec["projectId"], job.spec["jobId"], job.spec["location"]
        query = dict(job.spec["configuration"]["query"])
        query.setdefault("destinationTable", _anonymous_table(project, job_id))
        return {
            "kind": "bigquery#job",
            "id": f"{project}:{location}.{job_id}",
            "jobReference": {"projectId": project, "jobId": job_id, "location": location},
            "configuration": {**job.spec["configuration"], "query": query, "jobType": "QUERY"},
            "status": _status(job),
        }


def write_credentials(directory: str) -> str:
    """Write Application Default Credentials that keep google-auth off the network; return the path.

    An ``authorized_user`` file (the format ``gcloud auth application-default login`` writes) with an
    access token that expires in 2099: ``google.auth.default()`` loads it from
    ``GOOGLE_APPLICATION_CREDENTIALS`` before any metadata-server check, the token is valid, so nothing
    refreshes it (a refresh would go to Google: google-auth ignores a ``token_uri`` in this format).
    """
    path = os.path.join(directory, "application_default_credentials.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"type": "authorized_user", "client_id": "conformance-fake-bigquery",
                   "client_secret": "not-a-secret", "refresh_token": "not-a-refresh-token",
                   "token": "fake-bigquery-access-token", "expiry": "2099-01-01T00:00:00Z"}, handle)
    return path


class FakeBigQueryServer(FakeServer):
    """The jobs API on 127.0.0.1 (plain HTTP, as ``BIGQUERY_EMULATOR_HOST`` allows), with its credentials file."""

    def __init__(self, credentials_file: str) -> None:
        super().__init__(BigQueryApi)
        self.credentials_file = credentials_file
        """What ``GOOGLE_APPLICATION_CREDENTIALS`` must name (see :func:`write_credentials`)."""


@contextlib.contextmanager
def serve_bigquery() -> Iterator[FakeBigQueryServer]:
    """A started fake and its credentials file; the file's directory is removed after the fake stops."""
    with tempfile.TemporaryDirectory(prefix="fake-bigquery-") as home, \
            FakeBigQueryServer(write_credentials(home)) as server:
        yield server
