"""A fake of the Databricks Jobs API 2.1 one-time runs: submit, get and cancel, over HTTPS.

API reference: https://docs.databricks.com/api/workspace/jobs (runs/submit, runs/get, runs/cancel),
errors: https://docs.databricks.com/api/workspace/introduction#errors (``{"error_code", "message"}``).
Spoken to by ``flytekitplugins.spark.connector.DatabricksConnector`` (and V2), which builds
``https://{databricks_instance}/api/2.1/jobs/runs/...`` with aiohttp and a bearer token, so the
fake is served with ``tls=True`` and the connector is given ``databricks_instance = 127.0.0.1:port``.

Modelled (each answer as the reference documents it):

* ``POST /api/2.1/jobs/runs/submit`` -> ``{"run_id": int}``. ``idempotency_token`` (at most 64
  characters): "If a run with the provided token already exists, the request does not create a new run
  but returns the ID of the existing run instead."
* ``GET /api/2.1/jobs/runs/get?run_id=`` -> the run: ``state.life_cycle_state`` (PENDING, RUNNING,
  TERMINATING, TERMINATED, SKIPPED, INTERNAL_ERROR, and the newer QUEUED, BLOCKED, WAITING_FOR_RETRY),
  ``state.result_state`` (SUCCESS, FAILED, TIMEDOUT, CANCELED, ...; present only once the run has
  one), ``state.state_message``, ``run_page_url``, ``tasks``. An unknown or purged run is
  ``400 INVALID_PARAMETER_VALUE "Run <id> does not exist."`` (the shape the Databricks SDKs' generated
  error overrides match for ``/api/2.x/jobs/runs/get``).
* ``POST /api/2.1/jobs/runs/cancel`` ``{"run_id": ...}`` -> ``{}``; "The run is canceled
  asynchronously" (TERMINATING, then TERMINATED/CANCELED); "If the run is already in a terminal
  life_cycle_state, this method is a no-op" (200). An unknown run is ``400 INVALID_PARAMETER_VALUE``,
  as for runs/get (the shape databricks/cli's ``air cancel`` handles for this endpoint).
* A missing bearer token is 401. Runs expire (runs are kept 60 days), so purge is modelled.
* Container-style outputs: the submitted task runs ``pyflyte-execute ... --output-prefix <prefix>``
  on the cluster, which writes ``outputs.pb`` there; the fake does the same when a run reaches
  TERMINATED/SUCCESS and the parameters carry a rendered local prefix.

Not modelled: eventual visibility (a submitted run_id is readable at once; the API documents no
delay), runs/list, runs/get-output, repair, the OAuth token endpoint.

State names: a role's name is ``LIFE_CYCLE_STATE`` or ``LIFE_CYCLE_STATE/RESULT_STATE`` (see
:data:`DATABRICKS_STATES`); the fake splits it at the slash when it renders ``state``, so clauses
script ``[states.running, states.failed]`` and an unknown ``"QUARANTINED"`` is an unknown life cycle
state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from .control import Job
from .jobs import InvalidRequest, JobConflict, JobNotFound
from .states import States
from .toolkit import ServiceApi, json_body

__all__ = ["DatabricksApi", "DATABRICKS_STATES", "render_state", "run_id_of", "OTHER_LIFE_CYCLE_STATES"]

API = "/api/2.1/jobs"
RUN_ID_BASE = 880_000_000
"""Run ids are int64 on the wire; the fake's ``job-N`` is run ``RUN_ID_BASE + N``."""
JOB_ID_BASE = 440_000_000
"""A one-time run belongs to a one-time job with its own id (used in the run page URL)."""
IDEMPOTENCY_TOKEN_LIMIT = 64

DATABRICKS_STATES = States(
    submitted="PENDING",
    pending="PENDING",
    running="RUNNING",
    succeeded="TERMINATED/SUCCESS",
    failed="TERMINATED/FAILED",
    cancelling="TERMINATING",
    cancelled="TERMINATED/CANCELED",
    extra_terminal=frozenset({"TERMINATED/TIMEDOUT", "TERMINATED/SUCCESS_WITH_FAILURES", "SKIPPED",
                              "INTERNAL_ERROR/FAILED", "TERMINATED/MAXIMUM_CONCURRENT_RUNS_REACHED"}),
)
"""Databricks' own names, ``LIFE_CYCLE_STATE[/RESULT_STATE]`` (split by :func:`render_state`)."""

OTHER_LIFE_CYCLE_STATES = ("QUEUED", "BLOCKED", "WAITING_FOR_RETRY")
"""Documented non-terminal life cycle states beyond the roles above (runs/get RunLifeCycleState)."""

_DEFAULT_MESSAGES = {
    "FAILED": "Workload failed, see run output for details",
    "TIMEDOUT": "Run timed out",
    "CANCELED": "Run cancelled.",
    "INTERNAL_ERROR": "Run failed with an internal error",
}
"""``state_message`` the service gives a run that ends badly when no scripted message says why."""

_ERROR_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "ENDPOINT_NOT_FOUND", 405: "ENDPOINT_NOT_FOUND", 409: "RESOURCE_CONFLICT",
                429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE"}


def render_state(name: str, message: str | None) -> dict[str, Any]:
    """The runs/get ``state`` object for a state name ``LIFE_CYCLE[/RESULT]``."""
    life_cycle, _, result = name.partition("/")
    state: dict[str, Any] = {"life_cycle_state": life_cycle, "user_cancelled_or_timedout": result in
                             ("CANCELED", "TIMEDOUT")}
    if result:
        state["result_state"] = result
    default = _DEFAULT_MESSAGES.get(result or life_cycle, "")
    state["state_message"] = message if message is not None else default
    return state


def run_id_of(job_id: str) -> int:
    """The int64 run id Databricks shows for the fake's ``job-N``."""
    return RUN_ID_BASE + int(job_id.rpartition("-")[2])


def _job_id_of(run_id: Any) -> str:
    """The fake's job id for a run id sent as a number or a numeric string (proto3 JSON accepts both)."""
    try:
        number = int(run_id)
    except (TypeError, ValueError):
        raise InvalidRequest(f"Invalid run_id: {run_id!r}") from None
    return f"job-{number - RUN_ID_BASE}"


class DatabricksApi(ServiceApi):
    """Jobs API 2.1 runs submit / get / cancel (see the module docstring)."""

    name = "databricks"
    states = DATABRICKS_STATES

    def routes(self) -> Iterable[web.RouteDef]:
        return [
            web.post(f"{API}/runs/submit", self._submit, name="submit"),
            web.get(f"{API}/runs/get", self._get, name="status"),
            web.post(f"{API}/runs/cancel", self._cancel, name="cancel"),
        ]

    def error(self, status: int, message: str) -> web.Response:
        """``{"error_code", "message"}``, as every Databricks REST API answers errors."""
        return web.json_response({"error_code": _ERROR_CODES.get(status, str(status)), "message": message},
                                 status=status)

    def not_modelled(self, control: str) -> str | None:
        if control == "invisible_for":
            return ("Databricks runs/get answers a run_id as soon as runs/submit returned it; the Jobs API "
                    "documents no eventual consistency (https://docs.databricks.com/api/workspace/jobs/submit)")
        return None

    async def _submit(self, request: web.Request) -> web.Response:
        _authorized(request)
        body = await json_body(request)
        token = body.get("idempotency_token")
        if token is not None and (not isinstance(token, str) or len(token) > IDEMPOTENCY_TOKEN_LIMIT):
            raise InvalidRequest(f"idempotency_token must be a string of at most {IDEMPOTENCY_TOKEN_LIMIT} characters")
        _require_task(body)
        job = self.service.submit(body, {}, token)
        return web.json_response({"run_id": run_id_of(job.job_id)})

    async def _get(self, request: web.Request) -> web.Response:
        _authorized(request)
        run_id = request.query.get("run_id")
        job = self._known(lambda: self.service.status(_job_id_of(run_id)), run_id)
        _write_outputs(job, self.states.succeeded)
        return web.json_response(_run_view(job, request.host))

    async def _cancel(self, request: web.Request) -> web.Response:
        _authorized(request)
        run_id = (await json_body(request)).get("run_id")
        try:
            self._known(lambda: self.service.cancel(_job_id_of(run_id)), run_id)
        except JobConflict:  # already terminal: "this method is a no-op"
            pass
        return web.json_response({})

    @staticmethod
    def _known(operation: Callable[[], Job], run_id: Any) -> Job:
        """``operation()``, with an unknown run answered as Databricks does: 400, not 404."""
        try:
            return operation()
        except JobNotFound:
            raise InvalidRequest(f"Run {run_id} does not exist.") from None


def _authorized(request: web.Request) -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token.strip():
        raise web.HTTPUnauthorized(reason="Credential was not sent or was of an unsupported type for this API.")


_TASK_FIELDS = ("tasks", "notebook_task", "spark_python_task", "spark_jar_task", "spark_submit_task",
                "python_wheel_task", "sql_task", "dbt_task", "pipeline_task", "run_job_task")


def _require_task(body: dict[str, Any]) -> None:
    """runs/submit needs something to run: a ``tasks`` list or a single-task (2.0 style) field."""
    if not any(body.get(field) for field in _TASK_FIELDS):
        raise InvalidRequest("At least one task is required.")


def _run_view(job: Job, host: str) -> dict[str, Any]:
    """The runs/get answer for one run of a one-time (SUBMIT_RUN) job."""
    run_id = run_id_of(job.job_id)
    job_id = JOB_ID_BASE + (run_id - RUN_ID_BASE)
    state = render_state(job.state, job.message)
    task_key = next((task.get("task_key") for task in job.spec.get("tasks") or []), "flyte_task")
    return {
        "job_id": job_id,
        "run_id": run_id,
        "number_in_job": run_id,
        "original_attempt_run_id": run_id,
        "run_name": job.spec.get("run_name", "Untitled"),
        "run_type": "SUBMIT_RUN",
        "creator_user_name": "flyte-connector@example.com",
        "state": state,
        "run_page_url": f"https://{host}/?o=1234567890123456#job/{job_id}/run/{run_id}",
        "tasks": [{"task_key": task_key, "run_id": run_id + 1, "state": state}],
        "attempt_number": 0,
    }


def _output_prefix(spec: dict[str, Any]) -> str | None:
    """The ``--output-prefix`` the submitted python task passes to pyflyte-execute, if rendered and local."""
    tasks = [spec, *(spec.get("tasks") or [])]
    for task in tasks:
        parameters = list((task.get("spark_python_task") or {}).get("parameters") or [])
        if "--output-prefix" in parameters[:-1]:
            prefix = str(parameters[parameters.index("--output-prefix") + 1])
            return prefix if os.path.isabs(prefix) and os.path.isdir(prefix) else None
    return None


def _write_outputs(job: Job, succeeded: str) -> None:
    """Do what pyflyte-execute on the cluster does when the run succeeds: write ``outputs.pb``."""
    prefix = _output_prefix(job.spec)
    if job.state != succeeded or not job.outputs or prefix is None:
        return
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    literals = TypeEngine.dict_to_literal_map(FlyteContextManager.current_context(), dict(job.outputs))
    with open(os.path.join(prefix, "outputs.pb"), "wb") as handle:
        handle.write(literals.to_flyte_idl().SerializeToString())
