import pytest
from rest_job_binding import BINDINGS

from conformance.bindings import spec_of


@pytest.fixture
def connector_binding(connector_class):
    """What the suite looks up by itself once the bindings ship in conformance/bindings."""
    return next((binding for binding in BINDINGS if binding.connector == spec_of(connector_class)), None)
