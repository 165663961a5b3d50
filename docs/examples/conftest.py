import pytest
from rest_job_fake import JobsApi
from rest_job_workflow import registered_template

from fake_backends import serve


@pytest.fixture
def connector_backend():
    with serve(JobsApi, tls=True, default_outputs={"y": 42}) as backend:  # a fresh HTTPS fake per test
        yield backend


@pytest.fixture
def connector_factory(connector_backend, monkeypatch):
    monkeypatch.setenv("JOBS_URL", connector_backend.url)  # the connector reads its endpoint from here
    from rest_job_connector import JobsConnector

    return JobsConnector


@pytest.fixture
def connector_task_template():
    return registered_template()


@pytest.fixture
def connector_inputs():
    return {"x": 7}
