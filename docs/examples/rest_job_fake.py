"""A fake of Jobs, a small REST job service (API v1), written with fake_backends' public toolkit.

    POST /v1/jobs            {"image", "inputs", "client_token"} -> 201 job (200: the token's earlier job)
    GET  /v1/jobs                                                 -> 200 {"jobs": [job, ...]}
    GET  /v1/jobs/{id}                                            -> 200 job | 404
    POST /v1/jobs/{id}/cancel                                     -> 200 job (a finished job: unchanged) | 404

A job is {"id", "status", "status_message", "result"}; an error is {"error": {"code", "message"}}.
Modelled: the whole API above. Not modelled: eventual visibility (Jobs is read-after-write consistent).
"""

from __future__ import annotations

from typing import Any, Iterable

from aiohttp import web

from fake_backends import InvalidRequest, Job, JobConflict, JobNotFound, JobService, ServiceApi, States, json_body

JOBS_STATES = States(submitted="queued", pending="provisioning", running="running", succeeded="succeeded",
                     failed="failed", cancelling="cancelling", cancelled="cancelled")
"""The service's own status names, for each role the clauses script."""

ERROR_CODES = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 409: "CONFLICT", 429: "RESOURCE_EXHAUSTED"}


def job_view(job: Job) -> dict[str, Any]:
    """The one JSON shape of a job, as every endpoint answers it."""
    return {"id": job.job_id, "status": job.state, "status_message": job.message, "result": job.outputs}


def finished(service: JobService, job_id: str) -> Job:
    """A finished job from the ledger: reading it this way neither advances it nor counts as a poll."""
    found = [job for job in service.jobs() if job.job_id == job_id]
    if not found:
        raise JobNotFound(f"job {job_id} not found")
    return found[0]


class JobsApi(ServiceApi):
    """The Jobs API v1 over the toolkit's job service: scripts, faults and the ledger come for free."""

    name = "jobs"
    states = JOBS_STATES

    def routes(self) -> Iterable[web.RouteDef]:
        # Each route is named after the operation it performs: faults and latency are armed by that name.
        return [
            web.post("/v1/jobs", self.create_job, name="submit"),
            web.get("/v1/jobs", self.list_jobs, name="list"),
            web.get("/v1/jobs/{id}", self.get_job, name="status"),
            web.post("/v1/jobs/{id}/cancel", self.cancel_job, name="cancel"),
        ]

    async def create_job(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body.get("image"), str):
            raise InvalidRequest("image: a container image is required")
        job = self.service.submit(body, body.get("inputs", {}), body.get("client_token"))
        return web.json_response(job_view(job), status=201 if job.submits == 1 else 200)

    async def list_jobs(self, request: web.Request) -> web.Response:
        return web.json_response({"jobs": [job_view(job) for job in self.service.list_jobs()]})

    async def get_job(self, request: web.Request) -> web.Response:
        return web.json_response(job_view(self.service.status(request.match_info["id"])))

    async def cancel_job(self, request: web.Request) -> web.Response:
        job_id = request.match_info["id"]
        try:
            return web.json_response(job_view(self.service.cancel(job_id)))
        except JobConflict:  # Jobs answers a cancel of a finished job with the job, unchanged
            return web.json_response(job_view(finished(self.service, job_id)))

    def error(self, status: int, message: str) -> web.Response:
        code = ERROR_CODES.get(status, "UNAVAILABLE" if status >= 500 else "UNKNOWN")
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    def not_modelled(self, control: str) -> str | None:
        if control == "invisible_for":
            return "Jobs is read-after-write consistent: a created job is readable at once"
        return None
