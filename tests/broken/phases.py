"""Connectors that break a phase clause: the reference connector answering one kind of get() wrongly."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional, Set

from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.extend.backend.base_connector import Resource

from conformance.reference import JobMeta, ReferenceConnector


class Tweaked(ReferenceConnector):
    """The reference connector with every Resource it builds from a job view passed through tweak()."""

    def _resource(self, view: Dict[str, Any]) -> Resource:
        return self.tweak(super()._resource(view), view)

    def tweak(self, resource: Resource, view: Dict[str, Any]) -> Resource:
        return resource


class Remapped(Tweaked):
    """The reference connector with the backend states in ``remap`` answered as other phases."""

    remap: ClassVar[Dict[str, int]] = {}

    def tweak(self, resource: Resource, view: Dict[str, Any]) -> Resource:
        resource.phase = self.remap.get(view["state"], resource.phase)
        if resource.phase != TaskExecution.SUCCEEDED:
            resource.outputs = None
        return resource


class SucceededUndefined(Remapped):
    """PHASE-ACCEPTED: answers a SUCCEEDED job with phase UNDEFINED (0): its state map lacks a real phase for it."""

    breaks = "PHASE-ACCEPTED"
    # An unaccepted phase ends the attempt (F-PHASE-2), and PHASE-ACCEPTED only sees phases of the default
    # lifecycle, which every success-dependent clause also runs. On the last state it costs only the clauses
    # that need that lifecycle to succeed.
    cascade = frozenset({"BACKEND-GET-TRANSIENT", "BACKEND-INVISIBLE-AFTER-CREATE", "PHASE-OUTPUTS"})
    evidence = ("get() answered UNDEFINED",)

    remap = {"SUCCEEDED": TaskExecution.UNDEFINED}


class SucceededStaysRunning(Remapped):
    """PHASE-TERMINATES: maps the backend's SUCCEEDED to RUNNING (it waits for a COMPLETED state never sent)."""

    # The setup probe's lifecycle never ends either: PHASE-TERMINATES reports it once, and every clause that
    # needs a lifecycle is BLOCKED naming it.
    breaks = "PHASE-TERMINATES"
    evidence = ("no terminal phase after 20 GetTask calls", "last answer: RUNNING 'succeeded'")
    # a lifecycle that never ends should give up fast
    suite_args = ("--connector-max-polls=20", "--connector-budget=5")

    remap = {"SUCCEEDED": TaskExecution.RUNNING}


class PendingFailed(Remapped):
    """PHASE-SYNC-GET: maps a PENDING (queued, not yet started) job to FAILED."""

    breaks = "PHASE-SYNC-GET"
    # The sync-on-create get is the first get of every lifecycle, and a failed phase ends it there: whatever
    # needs the default task to succeed fails too (outputs, surviving 503s or 404s, no live job left), and
    # the job keeps moving on the backend, so re-polls differ from the "terminal" FAILED.
    cascade = frozenset({
        "BACKEND-GET-TRANSIENT",
        "BACKEND-INVISIBLE-AFTER-CREATE",
        "BACKEND-NO-ORPHANS",
        "PHASE-OUTPUTS",
        "PHASE-TERMINAL-STABLE",
    })
    evidence = ("first get() answered FAILED 'pending'",)

    remap = {"PENDING": TaskExecution.FAILED}


class NoOutputs(Tweaked):
    """PHASE-OUTPUTS: answers SUCCEEDED without the job's outputs (neither Resource.outputs nor outputs.pb)."""

    breaks = "PHASE-OUTPUTS"
    evidence = ("missing ['y']; found no outputs",)

    def tweak(self, resource: Resource, view: Dict[str, Any]) -> Resource:
        resource.outputs = None
        return resource


class JobsInMemory(ReferenceConnector):
    """PHASE-TERMINAL-STABLE: trusts only jobs it created itself (in memory); a restarted one says RETRYABLE_FAILED."""

    breaks = "PHASE-TERMINAL-STABLE"
    evidence = ("a fresh connector instance answered RETRYABLE_FAILED 'lost track of job",)

    def __init__(self, base_url: Optional[str] = None):
        super().__init__(base_url)
        self._created: Set[str] = set()

    async def create(self, **kwargs: Any) -> JobMeta:
        meta = await super().create(**kwargs)
        self._created.add(meta.job_id)
        return meta

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        if resource_meta.job_id not in self._created:
            return Resource(phase=TaskExecution.RETRYABLE_FAILED, message=f"lost track of job {resource_meta.job_id}")
        return await super().get(resource_meta, **kwargs)


class FailureWithoutMessage(Tweaked):
    """PHASE-FAILURE-MESSAGE: answers FAILED with the job's 'error' field, which this backend never sends."""

    breaks = "PHASE-FAILURE-MESSAGE"
    evidence = ("answered FAILED with no message",)

    def tweak(self, resource: Resource, view: Dict[str, Any]) -> Resource:
        if resource.phase == TaskExecution.FAILED:
            resource.message = view.get("error", "")
        return resource


class LogLinksAsDicts(Tweaked):
    """PHASE-RESOURCE-SERIALIZES: returns log_links as plain dicts, not flyteidl TaskLog messages."""

    # Protobuf turns {'uri', 'name'} dicts into TaskLog messages, so GetTask itself still works (a log link
    # the wire cannot convert would fail every lifecycle clause); flytekit's local runner reads link.name.
    breaks = "PHASE-RESOURCE-SERIALIZES"
    evidence = ("log_links holds dict",)

    def tweak(self, resource: Resource, view: Dict[str, Any]) -> Resource:
        resource.log_links = [{"uri": link.uri, "name": link.name} for link in resource.log_links or []]
        return resource
