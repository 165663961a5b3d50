import pytest
from rest_job_binding import BINDINGS


@pytest.fixture
def connector_binding():
    return BINDINGS[0]  # what the suite looks up by itself once the binding ships in conformance/bindings
