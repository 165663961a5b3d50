import functools

import pytest


@pytest.fixture
def connector_factory(connector_backend, mocker):
    import rest_job_connector

    # Patch the name where the connector looks it up (its own module), not where the SDK defines it.
    client = functools.partial(rest_job_connector.JobsClient, base_url=connector_backend.url)
    mocker.patch("rest_job_connector.JobsClient", client)
    return rest_job_connector.JobsConnector
