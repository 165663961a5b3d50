"""The Jobs service's command-line client, faked, and a connector that shells out to it.

    jobs-submit IMAGE TOKEN   (inputs as JSON on stdin)  -> prints the job as JSON
    jobs-status JOB_ID                                   -> prints the job as JSON; exit 2: no such job
    jobs-cancel JOB_ID                                   -> prints the job as JSON; exit 2: no such job

Any other failure exits 1 with a message on stderr.
"""

import asyncio
import json
import subprocess
from typing import Any, List, Tuple

from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.extend.backend.base_connector import AsyncConnectorBase, Resource
from flytekit.interaction.string_literals import literal_map_string_repr
from rest_job_connector import ATTEMPTS, TIMEOUT, JobMeta, client_token, resource
from rest_job_fake import JOBS_STATES, JobsApi, finished, job_view

from fake_backends import CliApi, Completed, JobConflict

NOT_FOUND = 2


class JobsCli(CliApi):
    """The fake: each command is a call of the toolkit's job service."""

    name = "jobs-cli"
    states = JOBS_STATES
    commands = {"jobs-submit": "submit", "jobs-status": "status", "jobs-cancel": "cancel"}
    reads_stdin = frozenset({"jobs-submit"})
    not_modelled = JobsApi.not_modelled  # the same service behind its CLI: read-after-write consistent

    def run(self, command: str, argv: List[str], stdin: str) -> Completed:
        if command == "jobs-submit":
            token = argv[1] if len(argv) > 1 and argv[1] else None
            job = self.service.submit({"image": argv[0]}, json.loads(stdin or "{}"), token)
        elif command == "jobs-status":
            job = self.service.status(argv[0])
        else:
            try:
                job = self.service.cancel(argv[0])
            except JobConflict:  # cancelling a finished job changes nothing
                job = finished(self.service, argv[0])
        return Completed(stdout=json.dumps(job_view(job)) + "\n")

    def error(self, status: int, message: str):
        code = NOT_FOUND if status == 404 else 1
        return self.answer(Completed(stderr=f"jobs: error: {message}\n", code=code), status)


async def jobs_cli(*argv: str, stdin: str = "") -> Tuple[int, str]:
    """Run a Jobs command in a worker thread (starting a process on the event loop holds it for the fork);
    exit status 1 (transient) and hangs are retried."""
    for attempt in range(ATTEMPTS):
        try:
            done = await asyncio.to_thread(subprocess.run, argv, input=stdin, capture_output=True, text=True,
                                           timeout=TIMEOUT)
        except subprocess.TimeoutExpired:  # the child is killed
            error = "timed out"
        else:
            if done.returncode in (0, NOT_FOUND):
                return done.returncode, done.stdout
            error = done.stderr.strip()
        await asyncio.sleep(0.05 * 2**attempt)
    raise RuntimeError(f"{argv[0]} kept failing: {error}")


class JobsCliConnector(AsyncConnectorBase):
    name = "Jobs CLI Connector"

    def __init__(self) -> None:
        super().__init__(task_type_name="jobs", metadata_type=JobMeta)

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None,
                     task_execution_metadata: Any = None, **kwargs: Any) -> JobMeta:
        values = literal_map_string_repr(inputs) if inputs is not None else {}
        token = client_token(task_execution_metadata) or ""
        code, out = await jobs_cli("jobs-submit", task_template.custom["image"], token, stdin=json.dumps(values))
        return JobMeta(job_id=json.loads(out)["id"])

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        try:
            code, out = await jobs_cli("jobs-status", resource_meta.job_id)
        except RuntimeError as exc:  # raising would spend the platform's error budget: poll again instead
            return Resource(phase=TaskExecution.RUNNING, message=f"Jobs unavailable, polling again: {exc}")
        if code == NOT_FOUND:
            return Resource(phase=TaskExecution.RETRYABLE_FAILED, message=f"job {resource_meta.job_id} is gone")
        return resource(json.loads(out))

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        await jobs_cli("jobs-cancel", resource_meta.job_id)  # exit 2: purged, nothing left to cancel
