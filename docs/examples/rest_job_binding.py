"""The binding for JobsConnector, as it would ship in conformance/bindings/jobs.py.

Imports stay inside the functions: this module is imported for every connector lookup.
"""

from typing import List

from conformance.bindings import Binding


def started_fake():
    from fake_backends import serve
    from rest_job_fake import JobsApi

    return serve(JobsApi, tls=True, default_outputs={"y": 42})


def started_cli_fake():
    from cli_job import JobsCli

    from fake_backends import FakeCli

    return FakeCli(JobsCli, default_outputs={"y": 42})


def template(backend):
    from rest_job_workflow import registered_template

    return registered_template()


BINDINGS: List[Binding] = [
    Binding(
        connector="rest_job_connector.JobsConnector",
        distribution="example-jobs-connector",
        backend=started_fake,
        template=template,
        inputs=lambda backend: {"x": 7},
        environment=lambda backend: {"JOBS_URL": backend.url},
        notes="JOBS_URL points the connector's client at the fake (HTTPS, the run's CA trusted by the suite).",
    ),
    Binding(
        connector="cli_job.JobsCliConnector",
        distribution="example-jobs-connector",
        backend=started_cli_fake,
        template=template,
        inputs=lambda backend: {"x": 7},
        environment=lambda backend: backend.environment(),
        notes="PATH starts with the fake's jobs-submit, jobs-status and jobs-cancel.",
    ),
]
