"""Programmable fake backends that Flyte connectors talk to in contract tests.

The public surface::

    BackendControl   the control plane every fake implements (faults, scripts, ledger)
    Job              an immutable snapshot of one job in a fake's ledger
    JobService       the generic async job service, in process
    FakeJobServer    a JobService over real HTTP on 127.0.0.1
    serve_jobs(...)  context manager: a started FakeJobServer around a new JobService
    States, GENERIC  a service's own state names for the roles clauses script
    ServiceApi, FakeServer, serve(...), json_body
                     the toolkit for a fake of a real service (see fake_backends.toolkit)
    NotModelled      raised for control-plane behaviour the real service does not have
    CliApi, FakeCli, Completed
                     a fake of a command-line tool: generated commands on PATH (see fake_backends.cli)
    write_outputs_pb a fake job's outputs.pb under output_prefix, as a container writes it
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

from typing import TYPE_CHECKING

from .control import OPERATIONS, BackendControl, Job, NotModelled, unstopped
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
from .outputs import write_outputs_pb
from .states import GENERIC, States

if TYPE_CHECKING:  # their real types for type checkers; at run time __getattr__ imports them on first use
    from .cli import CliApi, Completed, FakeCli
    from .server import FakeJobServer, JobApi, serve_jobs
    from .toolkit import FakeServer, ServiceApi, json_body, serve

_SERVED = {
    "FakeJobServer": "server", "JobApi": "server", "serve_jobs": "server",
    "FakeServer": "toolkit", "ServiceApi": "toolkit", "json_body": "toolkit", "serve": "toolkit",
    "CliApi": "cli", "Completed": "cli", "FakeCli": "cli",
}
"""Names whose modules import aiohttp: loaded on first use, so ``fake_backends.control`` stays light and
the run's CA (``fake_backends.tls``) can be trusted before aiohttp builds its default SSL context."""


def __getattr__(name: str) -> object:
    if name not in _SERVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_SERVED[name]}", __name__), name)

__all__ = [
    "OPERATIONS",
    "TERMINAL_STATES",
    "BackendControl",
    "Job",
    "unstopped",
    "NotModelled",
    "States",
    "GENERIC",
    "ServiceApi",
    "FakeServer",
    "JobApi",
    "serve",
    "json_body",
    "CliApi",
    "Completed",
    "FakeCli",
    "write_outputs_pb",
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
