"""The results page for flytekitplugins-openai's BatchEndpointConnector, pinned: ``pytest --connector=<class>``
with no conftest, against the fake of the OpenAI Batch API, gives exactly these verdicts
(docs/results/openai.md explains each non-PASS with the plugin's source)."""

from __future__ import annotations

from typing import Dict, FrozenSet

import pytest

pytest.importorskip("flytekitplugins.openai.batch.connector")

CONNECTOR = "flytekitplugins.openai.batch.connector.BatchEndpointConnector"

NOT_PASS: Dict[str, str] = {
    # real defects of the plugin (file:line in docs/results/openai.md)
    "META-NO-PICKLE": "FAIL",  # BatchEndpointMetadata.encode/decode are cloudpickle.dumps/loads
    "DELETE-AFTER-SUCCESS": "FAIL",  # batches.cancel of a completed batch: 409, raised
    "DELETE-AFTER-FAILURE": "FAIL",  # the same for a failed batch
    "BACKEND-CREATE-RETRY": "FAIL",  # batches.create has no idempotency key: a retried CreateTask is a 2nd batch
    "BACKEND-NO-ORPHANS": "FAIL",  # the client's own retry after a lost answer is a 2nd batch too
    "BACKEND-UNKNOWN-STATE-NO-ERROR": "FAIL",  # State.key_by_value -> None, convert_to_flyte_phase(None) raises
    # skipped, with their reasons
    "META-UPGRADE": "SKIP",  # no snapshot directory given
    "META-EXTRA-FIELD": "SKIP",  # the meta is a pickle, not a JSON object
    "META-MISSING-FIELD": "SKIP",  # the same
    "DELETE-PURGED": "SKIP",  # OpenAI never forgets a batch: purge is not modelled
    "CAP-LOGS": "SKIP",  # get_logs not overridden
    "CAP-METRICS": "SKIP",  # get_metrics not overridden
    "BACKEND-INVISIBLE-AFTER-CREATE": "SKIP",  # the Batch API documents no visibility delay
    "BACKEND-UNKNOWN-STATE": "SKIP",  # get() raises: BACKEND-UNKNOWN-STATE-NO-ERROR reports it
}

TIMING: Dict[str, FrozenSet[str]] = {
    # Real hazards whose size depends on the machine, so the verdict may go either way:
    # openai.AsyncOpenAI() per call loads the CA bundle on the loop (~45 ms of CPU here; the threshold is 50 ms)
    "LOOP-BLOCKING": frozenset({"FAIL", "PASS"}),
    # each call's client is never closed; its socket lives until the garbage collector runs
    "HYGIENE": frozenset({"WARN", "PASS"}),
}


def test_every_clause_gives_the_documented_verdict(run_bound) -> None:
    """One subprocess run, as a user runs it: no conftest, only --connector."""
    run = run_bound([CONNECTOR])
    details = run.expect("BatchEndpointConnector", NOT_PASS, TIMING)
    if run.status["BatchEndpointConnector"]["LOOP-BLOCKING"] == "FAIL":  # the connector's own line, not the suite's
        assert "at connector.py:" in details["LOOP-BLOCKING"]
    assert run.ret != 0  # MUST failures fail the run


FIXED_CONNECTOR = '''
"""BatchEndpointConnector with the six fixes docs/results/openai.md proposes: every FAIL is fixable against
the fake, so none of them is the fake's artefact."""
from dataclasses import dataclass
from typing import Dict

import openai
from flyteidl.core.execution_pb2 import TaskExecution
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.extend.backend.base_connector import AsyncConnectorBase, Resource, ResourceMeta
from flytekit.extend.backend.utils import get_connector_secret
from flytekit.models.literals import LiteralMap

PHASES = {"validating": TaskExecution.QUEUED, "in_progress": TaskExecution.RUNNING,
          "finalizing": TaskExecution.RUNNING, "cancelling": TaskExecution.RUNNING,
          "completed": TaskExecution.SUCCEEDED, "failed": TaskExecution.FAILED,
          "expired": TaskExecution.FAILED, "cancelled": TaskExecution.FAILED}


@dataclass
class FixedMeta(ResourceMeta):  # flytekit's default encode/decode: JSON, no pickle
    openai_org: str
    batch_id: str


def attempt_key(task_execution_metadata) -> str:
    ids = task_execution_metadata.task_execution_id
    run = ids.node_execution_id.execution_id
    return f"{run.project}/{run.domain}/{run.name}/{ids.node_execution_id.node_id}/{ids.retry_attempt}"


class FixedBatchConnector(AsyncConnectorBase):
    def __init__(self, base_url=None):
        # the plugin's task type: the template is the plugin's own BatchEndpointTask
        super().__init__(task_type_name="openai-batch", metadata_type=FixedMeta)
        # one client for the connector's life, built off the loop; the key and org go per request
        self._client = openai.AsyncOpenAI(api_key="per-request", base_url=base_url)
        self._once = self._client.with_options(max_retries=0)

    def _auth(self, org):
        return {"Authorization": f"Bearer {get_connector_secret('FLYTE_OPENAI_API_KEY')}",
                "OpenAI-Organization": org}

    async def create(self, task_template, output_prefix=None, inputs=None, task_execution_metadata=None,
                     **kwargs):
        custom = task_template.custom
        org, key = custom["openai_organization"], attempt_key(task_execution_metadata)
        async for batch in self._client.batches.list(limit=100, extra_headers=self._auth(org)):
            if (batch.metadata or {}).get("flyte_attempt") == key:  # a retried CreateTask: same batch
                return FixedMeta(org, batch.id)
        ctx = FlyteContextManager.current_context()
        file_id = TypeEngine.literal_map_to_kwargs(ctx, inputs, {"input_file_id": str})["input_file_id"]
        config = dict(custom["config"], metadata={**custom["config"].get("metadata", {}), "flyte_attempt": key})
        batch = await self._once.batches.create(**config, input_file_id=file_id, extra_headers=self._auth(org))
        return FixedMeta(org, batch.id)

    async def get(self, resource_meta, **kwargs):
        batch = await self._client.batches.retrieve(resource_meta.batch_id,
                                                    extra_headers=self._auth(resource_meta.openai_org))
        phase = PHASES.get(batch.status, TaskExecution.RUNNING)
        message = None if batch.status in PHASES else f"unknown batch status {batch.status!r}"
        if batch.errors and batch.errors.data:
            message = batch.errors.data[0].message
        if phase != TaskExecution.SUCCEEDED:
            return Resource(phase=phase, message=message)
        ctx = FlyteContextManager.current_context()
        result = TypeEngine.to_literal(ctx, batch.to_dict(), Dict, TypeEngine.to_literal_type(Dict))
        return Resource(phase=phase, outputs=LiteralMap({"result": result}))

    async def delete(self, resource_meta, **kwargs):
        try:
            await self._once.batches.cancel(resource_meta.batch_id,
                                            extra_headers=self._auth(resource_meta.openai_org))
        except (openai.ConflictError, openai.NotFoundError):  # already finished, or gone: nothing to stop
            pass
'''

FIXED_CONFTEST = '''
import functools

import pytest

from conformance.bindings.openai import _inputs, _template
from fake_backends.openai_batches import serve_openai


@pytest.fixture
def connector_backend():
    with serve_openai() as fake:
        yield fake


@pytest.fixture
def connector_factory(connector_class, connector_backend):
    return functools.partial(connector_class, base_url=connector_backend.base_url)


@pytest.fixture
def connector_task_template(connector_backend):
    return _template(connector_backend)


@pytest.fixture
def connector_inputs(connector_backend):
    return _inputs(connector_backend)
'''

FIXED_CLAUSES = ("DELETE-", "BACKEND-", "PHASE-", "META-ROUNDTRIP", "META-CREATE-TYPE")
"""What the plugin fails or what its fixes could break; the guards (which tour the whole suite and, on a
loaded machine, time the loop) stay with the plugin's own run above."""


def test_the_fixed_connector_passes_against_the_same_fake(pytester: pytest.Pytester, run_bound) -> None:
    """No false alarm from the fake: the same connector with the fixes passes every clause the plugin fails."""
    pytester.makepyfile(fixed_batch=FIXED_CONNECTOR, conftest=FIXED_CONFTEST)
    run = run_bound(["fixed_batch.FixedBatchConnector"], "-k", " or ".join(FIXED_CLAUSES))
    rows = run.status["FixedBatchConnector"]
    verdicts = {clause: status for clause, status in rows.items() if status != "SKIP"}
    skipped = {clause for clause, status in rows.items() if status == "SKIP"}
    assert {"DELETE-AFTER-SUCCESS", "DELETE-AFTER-FAILURE", "BACKEND-CREATE-RETRY", "BACKEND-NO-ORPHANS",
            "BACKEND-UNKNOWN-STATE-NO-ERROR", "BACKEND-UNKNOWN-STATE"} <= set(verdicts)
    assert set(verdicts.values()) == {"PASS"}, verdicts
    assert skipped <= {"DELETE-PURGED", "BACKEND-INVISIBLE-AFTER-CREATE", "META-UPGRADE"}, skipped
    assert run.ret == 0
