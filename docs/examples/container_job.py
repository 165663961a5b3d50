"""Container-style jobs: the job writes its outputs to outputs.pb under the output prefix it is given.

The Jobs API answers no result for these jobs; the platform reads ``<output_prefix>/outputs.pb``
when a SUCCEEDED Resource carries no outputs (F-PHASE-5).
"""

from aiohttp import web
from rest_job_connector import JobsConnector
from rest_job_fake import JobsApi, job_view

from fake_backends import write_outputs_pb


class ContainerJobsApi(JobsApi):
    """Jobs whose container writes outputs.pb under the request's ``output_prefix`` when it succeeds."""

    async def get_job(self, request: web.Request) -> web.Response:
        job = self.service.status(request.match_info["id"])
        prefix = job.spec.get("output_prefix")
        if job.state == self.states.succeeded and prefix:
            write_outputs_pb(prefix, job.outputs, {"y": int})  # what the task's code returns, as it declares
        return web.json_response(dict(job_view(job), result=None))


class ContainerJobsConnector(JobsConnector):
    """Tells the job where to write its outputs; its SUCCEEDED Resource carries none."""

    def job_request(self, task_template, output_prefix, inputs, metadata):
        return dict(super().job_request(task_template, output_prefix, inputs, metadata), output_prefix=output_prefix)
