"""A fake of Amazon SageMaker (API version 2017-07-24) over the AWS JSON 1.1 protocol, on 127.0.0.1.

The plugin's clients (aioboto3/botocore, pointed here by ``AWS_ENDPOINT_URL_SAGEMAKER``) send
``POST /`` with ``X-Amz-Target: SageMaker.<Operation>`` and a JSON body; answers are JSON, errors
are HTTP 400 ``{"__type": <code>, "message": <text>}`` (botocore reads both, see
https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html). One module serves every resource
family the flytekitplugins-awssagemaker connectors drive, one :class:`Family` each:

=========================  ==============================================  =======================
family (API class)         operations                                      statuses
=========================  ==============================================  =======================
endpoint (EndpointApi)     CreateEndpoint / DescribeEndpoint /             Creating, InService,
                           DeleteEndpoint                                  Failed (Deleting: gone)
training (TrainingJobApi)  Create/Describe/StopTrainingJob                 InProgress, Completed,
processing, transform      Create/Describe/Stop{Processing,Transform}Job   Failed, Stopping,
tuning (TuningJobApi)      ...HyperParameterTuningJob (+ DescribeTraining  Stopped
                           Job of its best training job)
recommender                ...InferenceRecommendationsJob                  PENDING ... STOPPED
=========================  ==============================================  =======================

Resources are named by the caller, not by the service: a name is unique per account and region
(API reference of each Create operation, e.g.
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html), so a second
Create with a live name is refused, and that refusal is how a connector makes its create idempotent.
Each name maps to one job of the shared :class:`JobService` (its idempotency key), so scripts,
faults, lost answers, latency, invisibility, purges and the ledger all work as for every fake.

The edges the clauses probe, answered as the real service does (evidence in brackets):

- Describe of an unknown name: ``ValidationException`` "Requested resource not found." for
  training, processing and transform jobs, although botocore models ``ResourceNotFound`` [filed
  as a service bug in https://github.com/aws/aws-sdk/issues/165 (from boto/boto3#2808); botocore's waiters
  ``TrainingJobCompletedOrStopped`` etc. treat ``ValidationException`` as "no such job"]; endpoints:
  ``ValidationException`` 'Could not find endpoint "<arn>".' [aws/amazon-sagemaker-examples#2402;
  waiter ``EndpointDeleted``]. Tuning and recommendation jobs: ``ResourceNotFound``, as botocore
  models it (no contrary report found).
- Stop of a job that has ended: ``ValidationException`` "The request was rejected because the
  training job is in status Stopped." [awslabs/benchmark-ai#928; public SageMaker job runners
  match the same wording for transform jobs]. The same wording is used for the processing, tuning
  and recommendation families by analogy (no report found either way).
- Stop of a job already ``Stopping`` is accepted (no report of a refusal found; the choice that
  cannot raise a false alarm).
- A second Create with a live name: ``ResourceInUse`` "Training job names must be unique within an
  AWS account and region, and a training job with this name already exists (<arn>)"
  [aws/amazon-sagemaker-examples#3108]; endpoints: ``ValidationException`` 'Cannot create already
  existing endpoint "<arn>".' (the text the plugin itself matches).
- DeleteEndpoint while the endpoint is ``Creating``: ``ValidationException`` 'Cannot update
  in-progress endpoint "<arn>".' [observed with the AWS CLI, github.com/xbill9/sagemaker-gemma]. On an
  endpoint that is InService or Failed it succeeds and the endpoint is gone at once (the real
  ``Deleting`` phase is not shown); a later Describe or Delete is 'Could not find endpoint'.
- Invisibility after create is not modelled: SageMaker documents no delay before a created job or
  endpoint can be described. (The CreateEndpoint reference's note on eventually consistent reads is
  about CreateEndpoint's own read of the endpoint config in DynamoDB, not about DescribeEndpoint.)
- Purge is modelled where the API can delete a finished resource (DeleteTrainingJob,
  DeleteProcessingJob, DeleteHyperParameterTuningJob, DeleteEndpoint); transform and recommendation
  jobs have no delete operation, so a purge of them is :class:`NotModelled`.

A training or processing job whose ``ContainerEntrypoint`` runs a Flyte task (the plugin's Pythonic
mode: ``pyflyte-execute ... --output-prefix <prefix>``) writes ``outputs.pb`` under that prefix when it
completes, as the container would.

Not modelled: Update*/List* operations, tags, input validation beyond required names, the real
durations of each status.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from aiohttp import web

from .control import Job, NotModelled
from .jobs import JobConflict, JobNotFound, JobService
from .outputs import write_outputs_pb
from .states import States
from .toolkit import FakeServer, ServiceApi, json_body

__all__ = [
    "SageMakerApi", "EndpointApi", "TrainingJobApi", "ProcessingJobApi", "TransformJobApi", "TuningJobApi",
    "RecommenderJobApi", "SageMakerServer", "serve_sagemaker", "JOB_STATES", "ENDPOINT_STATES",
    "RECOMMENDER_STATES",
]

ACCOUNT = "123456789012"
"""The account every ARN names (the fake has one)."""
TARGET_PREFIX = "SageMaker."
NOT_FOUND = "Requested resource not found."

JOB_STATES = States(submitted="InProgress", pending="InProgress", running="InProgress", succeeded="Completed",
                    failed="Failed", cancelling="Stopping", cancelled="Stopped")
"""TrainingJobStatus, ProcessingJobStatus, TransformJobStatus, HyperParameterTuningJobStatus."""
RECOMMENDER_STATES = States(submitted="PENDING", pending="PENDING", running="IN_PROGRESS", succeeded="COMPLETED",
                            failed="FAILED", cancelling="STOPPING", cancelled="STOPPED")
"""RecommendationJobStatus (ALL_CAPS, unlike the other job families)."""
ENDPOINT_STATES = States(submitted="Creating", pending="Creating", running="Creating", succeeded="InService",
                         failed="Failed", cancelling="Deleting", cancelled="Deleted")
"""EndpointStatus; "Deleted" is no SageMaker status: such an endpoint is gone (Describe: not found)."""
ENDPOINT_IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
"""Endpoint statuses in which DeleteEndpoint is refused as 'in-progress'."""

CONTENT_TYPE = "application/x-amz-json-1.1"

_Handler = Callable[[dict[str, Any], str], dict[str, Any]]
"""An operation: (request body, region) -> answer body; raises :class:`AwsError` for error answers."""


class AwsError(Exception):
    """An error answer in the AWS JSON 1.1 shape."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


INVISIBILITY = ("SageMaker documents no delay before a created job or endpoint can be described (the "
                "CreateEndpoint reference's eventual-consistency note is about its own read of the endpoint config)")


@dataclass(frozen=True)
class Family:
    """One SageMaker resource type: its operation names, JSON keys, vocabulary and error wording."""

    resource: str
    """The operation suffix: ``TrainingJob`` gives CreateTrainingJob, DescribeTrainingJob, Stop..."""
    noun: str
    """How error messages name it ("training job")."""
    arn_kind: str
    name_key: str
    status_key: str
    arn_key: str
    purge_reason: str | None = None
    """Why a purge cannot happen to this resource on the real service; None: it can."""

    def arn(self, name: str, region: str) -> str:
        return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{self.arn_kind}/{name.lower()}"


def _answer(refused: AwsError) -> web.Response:
    return web.json_response({"__type": refused.code, "message": refused.message}, status=refused.status,
                             content_type=CONTENT_TYPE)


def _region(request: web.Request) -> str:
    """The region the client signed for (SigV4 credential scope), as the ARNs it gets back name it."""
    scope = request.headers.get("Authorization", "").partition("Credential=")[2].split("/")
    return scope[2] if len(scope) > 2 else "us-east-1"


class SageMakerApi(ServiceApi):
    """The operations of one :class:`Family` over the AWS JSON 1.1 protocol."""

    name = "sagemaker"
    family: ClassVar[Family]
    stop_verb: ClassVar[str] = "Stop"

    def __init__(self, service: JobService) -> None:
        super().__init__(service)
        self._born: dict[str, float] = {}

    def _epoch(self, job: Job) -> float:
        """When the job was created: every timestamp of a Describe derives from it, so re-reads agree."""
        return self._born.setdefault(job.job_id, time.time())

    def routes(self) -> Iterable[web.RouteDef]:
        return [web.post("/", self._dispatch)]

    def _operations(self) -> dict[str, tuple[str, _Handler]]:
        """X-Amz-Target operation -> (control-plane operation, handler)."""
        resource = self.family.resource
        return {
            f"Create{resource}": ("submit", self._create),
            f"Describe{resource}": ("status", self._describe),
            f"{self.stop_verb}{resource}": ("cancel", self._stop),
        }

    def _lookup(self, request: web.Request) -> tuple[str, _Handler] | None:
        target = request.headers.get("X-Amz-Target", "")
        return self._operations().get(target[len(TARGET_PREFIX):]) if target.startswith(TARGET_PREFIX) else None

    def operation(self, request: web.Request) -> str | None:
        found = self._lookup(request)
        return found[0] if found else None

    def error(self, status: int, message: str) -> web.Response:
        """Injected faults and unknown paths, with the code botocore's retry logic recognises."""
        code = {400: "ValidationException", 404: "ResourceNotFound", 409: "ResourceInUse",
                429: "ThrottlingException"}.get(status, "InternalFailure" if status < 503 else "ServiceUnavailable")
        return _answer(AwsError(code, message, status))

    def not_modelled(self, control: str) -> str | None:
        if control == "invisible_for":
            return INVISIBILITY
        return self.family.purge_reason if control == "purge" else None

    async def _dispatch(self, request: web.Request) -> web.Response:
        found = self._lookup(request)
        if found is None:
            target = request.headers.get("X-Amz-Target", "")
            return _answer(AwsError("UnknownOperationException", f"unknown operation {target!r}"))
        body = await json_body(request)
        try:
            return web.json_response(found[1](body, _region(request)), content_type=CONTENT_TYPE)
        except AwsError as refused:
            return _answer(refused)

    # -- the three operations ---------------------------------------------------------------

    def _create(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        name = self._name(body)
        existed = self._named(name) is not None
        self.service.submit(body, {}, name)  # counted, faulted and deduplicated by the name
        if existed:
            raise self._duplicate(name, region)
        return {self.family.arn_key: self.family.arn(name, region)}

    def _describe(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        name = self._name(body)
        job = self._existing(name, region)
        try:
            job = self.service.status(job.job_id)
        except JobNotFound:  # not visible yet (eventual consistency)
            raise self._not_found(name, region) from None
        if self._succeeded(job) and job.outputs:
            _write_container_outputs(job)
        return self._view(job, name, region)

    def _stop(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        name = self._name(body)
        job = self._existing(name, region)
        try:
            self.service.cancel(job.job_id)
        except JobConflict:
            raise AwsError("ValidationException", f"The request was rejected because the {self.family.noun} "
                                                  f"is in status {job.state}.") from None
        return {}

    # -- shared pieces ------------------------------------------------------------------------

    def _name(self, body: dict[str, Any]) -> str:
        name = body.get(self.family.name_key)
        if not isinstance(name, str) or not name:
            raise AwsError("ValidationException", f"1 validation error detected: Value null at "
                                                  f"'{self.family.name_key}' failed to satisfy constraint: "
                                                  "Member must not be null")
        return name

    def _named(self, name: str) -> Job | None:
        """The job behind a name, from the ledger (not a counted read); None when unknown or purged."""
        return next((job for job in reversed(self.service.jobs()) if job.idempotency_key == name), None)

    def _existing(self, name: str, region: str) -> Job:
        job = self._named(name)
        if job is None:
            raise self._not_found(name, region)
        return job

    def _not_found(self, name: str, region: str) -> AwsError:
        return AwsError("ValidationException", NOT_FOUND)

    def _duplicate(self, name: str, region: str) -> AwsError:
        return AwsError("ResourceInUse", f"{self.family.noun.capitalize()} names must be unique within an AWS "
                                         f"account and region, and a {self.family.noun} with this name already "
                                         f"exists ({self.family.arn(name, region)})")

    def _view(self, job: Job, name: str, region: str) -> dict[str, Any]:
        """Describe's answer: the request echoed back, the status, and what the status brings."""
        born = self._epoch(job)
        view = {key: value for key, value in job.spec.items() if key != "Tags"}
        view.update({self.family.name_key: name, self.family.arn_key: self.family.arn(name, region),
                     self.family.status_key: job.state, "CreationTime": born, "LastModifiedTime": born + 300})
        if job.message is not None or job.state == self.states.failed:
            view["FailureReason"] = job.message or "InternalServerError: We encountered an internal error."
        view.update(self._fields(job, name, region))
        return view

    def _fields(self, job: Job, name: str, region: str) -> dict[str, Any]:
        """Family-specific fields of a Describe answer (results once finished)."""
        return {}

    def _succeeded(self, job: Job) -> bool:
        return job.state == self.states.succeeded


def _write_container_outputs(job: Job) -> None:
    """Do what the job's container does when it runs a Flyte task (Pythonic mode): write ``outputs.pb``.

    Its ``ContainerEntrypoint`` is the task's rendered ``pyflyte-execute ... --output-prefix <prefix>``;
    a job without one (a plain algorithm image) writes nothing.
    """
    for section in ("AlgorithmSpecification", "AppSpecification"):
        entrypoint = [str(arg) for arg in (job.spec.get(section) or {}).get("ContainerEntrypoint") or []]
        if "--output-prefix" in entrypoint[:-1]:
            prefix = entrypoint[entrypoint.index("--output-prefix") + 1]
            if os.path.isabs(prefix) or prefix.startswith("file://"):
                write_outputs_pb(prefix, job.outputs or {})


class EndpointApi(SageMakerApi):
    """CreateEndpoint / DescribeEndpoint / DeleteEndpoint (see the module docstring for the edges)."""

    family = Family("Endpoint", "endpoint", "endpoint", "EndpointName", "EndpointStatus", "EndpointArn")
    states = ENDPOINT_STATES
    stop_verb = "Delete"

    def _not_found(self, name: str, region: str) -> AwsError:
        return AwsError("ValidationException", f'Could not find endpoint "{self.family.arn(name, region)}".')

    def _duplicate(self, name: str, region: str) -> AwsError:
        return AwsError("ValidationException",
                        f'Cannot create already existing endpoint "{self.family.arn(name, region)}".')

    def _describe(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        view = super()._describe(body, region)
        if view["EndpointStatus"] == ENDPOINT_STATES.cancelled:
            raise self._not_found(view["EndpointName"], region)
        return view

    def _stop(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        """DeleteEndpoint: refused while in progress; a settled endpoint is deleted and gone at once."""
        name = self._name(body)
        job = self._existing(name, region)
        if job.state in ENDPOINT_IN_PROGRESS:
            raise AwsError("ValidationException",
                           f'Cannot update in-progress endpoint "{self.family.arn(name, region)}".')
        try:
            self.service.cancel(job.job_id)  # an endpoint in a state we do not know: Deleting until read
        except JobConflict:  # InService or Failed: the delete goes through, the ledger counts it
            self.service.purge(job.job_id)
        return {}

    def _fields(self, job: Job, name: str, region: str) -> dict[str, Any]:
        if not self._succeeded(job):
            return {}
        return {"ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1,
                                        "DesiredInstanceCount": 1, "CurrentWeight": 1.0, "DesiredWeight": 1.0}]}


class TrainingJobApi(SageMakerApi):
    family = Family("TrainingJob", "training job", "training-job", "TrainingJobName", "TrainingJobStatus",
                    "TrainingJobArn")
    states = JOB_STATES

    def _fields(self, job: Job, name: str, region: str) -> dict[str, Any]:
        return training_fields(job, name, self._succeeded(job), self._epoch(job))


def training_fields(job: Job, name: str, succeeded: bool, born: float) -> dict[str, Any]:
    """DescribeTrainingJob's status-dependent fields; shared with the tuning family's best job."""
    secondary = {"InProgress": "Training"}.get(job.state, job.state)
    fields: dict[str, Any] = {"SecondaryStatus": secondary, "ModelArtifacts": {}}
    if succeeded:
        output = job.spec.get("OutputDataConfig", {}).get("S3OutputPath", "s3://bucket/output")
        fields.update(ModelArtifacts={"S3ModelArtifacts": f"{output.rstrip('/')}/{name}/output/model.tar.gz"},
                      FinalMetricDataList=[{"MetricName": "validation:auc", "Value": 0.91,
                                            "Timestamp": born + 290}],
                      BillableTimeInSeconds=312, TrainingTimeInSeconds=312)
    return fields


class ProcessingJobApi(SageMakerApi):
    family = Family("ProcessingJob", "processing job", "processing-job", "ProcessingJobName",
                    "ProcessingJobStatus", "ProcessingJobArn")
    states = JOB_STATES

    def _fields(self, job: Job, name: str, region: str) -> dict[str, Any]:
        if not self._succeeded(job):
            return {}
        born = self._epoch(job)
        return {"ExitMessage": "", "ProcessingStartTime": born + 20, "ProcessingEndTime": born + 300}


class TransformJobApi(SageMakerApi):
    family = Family("TransformJob", "transform job", "transform-job", "TransformJobName", "TransformJobStatus",
                    "TransformJobArn",
                    purge_reason="SageMaker has no DeleteTransformJob: a transform job is never forgotten")
    states = JOB_STATES

    def _fields(self, job: Job, name: str, region: str) -> dict[str, Any]:
        if not self._succeeded(job):
            return {}
        born = self._epoch(job)
        return {"TransformStartTime": born + 20, "TransformEndTime": born + 300}


class TuningJobApi(SageMakerApi):
    """HyperParameterTuningJob; DescribeTrainingJob answers for its best training job once it completed."""

    family = Family("HyperParameterTuningJob", "hyperparameter tuning job", "hyper-parameter-tuning-job",
                    "HyperParameterTuningJobName", "HyperParameterTuningJobStatus", "HyperParameterTuningJobArn")
    states = JOB_STATES

    def _operations(self) -> dict[str, tuple[str, _Handler]]:
        return {**super()._operations(), "DescribeTrainingJob": ("status", self._describe_best)}

    def _not_found(self, name: str, region: str) -> AwsError:
        return AwsError("ResourceNotFound", f"Amazon SageMaker can't find a tuning job with name {name}")

    def _fields(self, job: Job, name: str, region: str) -> dict[str, Any]:
        done = self._succeeded(job)
        fields: dict[str, Any] = {
            "TrainingJobStatusCounters": {"Completed": 4 if done else 1, "InProgress": 0 if done else 2,
                                          "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0},
            "ObjectiveStatusCounters": {"Succeeded": 4 if done else 1, "Pending": 0 if done else 2, "Failed": 0},
        }
        if done:
            best = best_training_job(name)
            fields["BestTrainingJob"] = {
                "TrainingJobName": best, "TrainingJobArn": TrainingJobApi.family.arn(best, region),
                "TrainingJobStatus": "Completed", "ObjectiveStatus": "Succeeded",
                "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "validation:auc", "Value": 0.93},
                "TunedHyperParameters": {"max_depth": "6", "eta": "0.2"},
                "TrainingStartTime": self._epoch(job) + 20, "TrainingEndTime": self._epoch(job) + 290,
                "CreationTime": self._epoch(job) + 10,
            }
        return fields

    def _describe_best(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        """DescribeTrainingJob for the best job of a completed tuning job (a ledger read, not a status poll)."""
        name = body.get("TrainingJobName")
        parent = next((job for job in self.service.jobs() if self._succeeded(job) and job.idempotency_key
                       and best_training_job(job.idempotency_key) == name), None)
        if parent is None:
            raise AwsError("ValidationException", NOT_FOUND)
        # cast: the parent that matched has an idempotency_key (its tuning job), and name equals a str
        name, tuning_job = cast(str, name), cast(str, parent.idempotency_key)
        view = {"TrainingJobName": name, "TrainingJobArn": TrainingJobApi.family.arn(name, region),
                "TrainingJobStatus": "Completed", "CreationTime": self._epoch(parent) + 10,
                "TuningJobArn": self.family.arn(tuning_job, region)}
        spec = parent.spec.get("TrainingJobDefinition", {})
        view.update(training_fields(dataclasses.replace(parent, spec=spec), name, True, self._epoch(parent)))
        return view


def best_training_job(tuning_job: str) -> str:
    """The name SageMaker gives a tuning job's training jobs: <tuning job>-<NNN>-<8 hex>."""
    return f"{tuning_job[:40]}-003-{hashlib.sha1(tuning_job.encode()).hexdigest()[:8]}"


class RecommenderJobApi(SageMakerApi):
    family = Family("InferenceRecommendationsJob", "inference recommendations job",
                    "inference-recommendations-job", "JobName", "Status", "JobArn",
                    purge_reason="SageMaker has no DeleteInferenceRecommendationsJob: such a job is never forgotten")
    states = RECOMMENDER_STATES

    def _not_found(self, name: str, region: str) -> AwsError:
        return AwsError("ResourceNotFound", f"Inference recommendations job {name} does not exist.")

    def _fields(self, job: Job, name: str, region: str) -> dict[str, Any]:
        if not self._succeeded(job):
            return {}
        return {"CompletionTime": self._epoch(job) + 300, "InferenceRecommendations": [{
            "RecommendationId": f"{name}/1", "Metrics": {"CostPerHour": 0.23, "CostPerInference": 0.000002,
                                                         "MaxInvocations": 4200, "ModelLatency": 35},
            "EndpointConfiguration": {"EndpointName": f"{name}-ep", "VariantName": "AllTraffic",
                                      "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 1},
            "ModelConfiguration": {},
        }]}


class SageMakerServer(FakeServer):
    """A :class:`FakeServer` whose purge is refused where the family has no delete operation."""

    def __init__(self, api: type, **options: Any) -> None:
        super().__init__(api, **options)
        reason = self.api.not_modelled("purge")
        if reason is not None:
            self.purge = _refuser(reason)


def _refuser(reason: str) -> Callable[..., None]:
    def purge(job_id: str | None = None) -> None:
        raise NotModelled(reason)

    return purge


@contextlib.contextmanager
def serve_sagemaker(api: type, *, tls: bool = True, **service_options: Any) -> Iterator[SageMakerServer]:
    """A started fake of one SageMaker family (HTTPS by default, as the real endpoint) for the block.

    ``default_outputs`` are what a Pythonic-mode job's container writes to ``outputs.pb`` on success.
    """
    with SageMakerServer(api, tls=tls, **service_options) as server:
        yield server
