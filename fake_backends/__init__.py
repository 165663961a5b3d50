"""Programmable fake backends that Flyte connectors talk to in contract tests.

The public surface::

    BackendControl   the control plane every fake implements (faults, scripts, ledger)
    Job              an immutable snapshot of one job in a fake's ledger
    JobService       the generic async job service, in process
    FakeJobServer    a JobService over real HTTP on 127.0.0.1
    serve_jobs(...)  context manager: a started FakeJobServer around a new JobService
    Fault            one armed fault, as carried by InjectedFault
    JobNotFound, JobConflict, InvalidRequest, InjectedFault
                     what JobService's data operations raise (HTTP 404, 409, 400, fault)

Typical use::

    with serve_jobs(default_outputs={"rows": 3}) as backend:
        backend.fault("submit", status=503, times=2, retry_after=0.01)
        backend.script(["PENDING", "QUARANTINED"])
        run_connector_against(backend.url)
        assert not backend.live_jobs()
"""

from .control import OPERATIONS, BackendControl, Job, unstopped
from .faults import Fault
from .jobs import (
    TERMINAL_STATES,
    InjectedFault,
    InvalidRequest,
    JobConflict,
    JobNotFound,
    JobService,
    JobServiceError,
)
from .server import FakeJobServer, serve_jobs

__all__ = [
    "OPERATIONS",
    "TERMINAL_STATES",
    "BackendControl",
    "Job",
    "unstopped",
    "JobService",
    "FakeJobServer",
    "serve_jobs",
    "Fault",
    "JobServiceError",
    "JobNotFound",
    "JobConflict",
    "InvalidRequest",
    "InjectedFault",
]
