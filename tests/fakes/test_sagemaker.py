"""The SageMaker fake driven by botocore, the client the plugin's aioboto3 wraps: the edges it claims the
real service has (see the evidence in :mod:`fake_backends.sagemaker`), over HTTPS with the run's CA."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

boto3 = pytest.importorskip("boto3")

from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from fake_backends import NotModelled  # noqa: E402
from fake_backends.sagemaker import (  # noqa: E402
    EndpointApi,
    RecommenderJobApi,
    SageMakerServer,
    TrainingJobApi,
    TransformJobApi,
    TuningJobApi,
    best_training_job,
    serve_sagemaker,
)
from fake_backends.tls import trust  # noqa: E402

REGION = "us-east-2"
TRAINING = {
    "TrainingJobName": "churn-1", "RoleArn": "arn:aws:iam::123456789012:role/r",
    "AlgorithmSpecification": {"TrainingImage": "xgboost:1.7-1", "TrainingInputMode": "File"},
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/models"},
    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
}


@pytest.fixture
def serve() -> Iterator[Callable[[type], Any]]:
    """``serve(Api)`` -> (fake, botocore client): one attempt per call, so error answers are seen as sent."""
    with_servers = []

    def start(api: type) -> Any:
        fake = SageMakerServer(api, tls=True).start()
        with_servers.append(fake)
        client = boto3.client("sagemaker", region_name=REGION, endpoint_url=fake.url, verify=str(trust() / "ca.pem"),
                              aws_access_key_id="AKIADUMMY", aws_secret_access_key="dummy",
                              config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
        return fake, client

    yield start
    for fake in with_servers:
        fake.stop()


def error_of(call: Callable[[], Any]) -> dict:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]


def test_create_then_describe_walks_to_completed_with_stable_results(serve) -> None:
    fake, client = serve(TrainingJobApi)
    arn = client.create_training_job(**TRAINING)["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-2:123456789012:training-job/churn-1"
    seen = [client.describe_training_job(TrainingJobName="churn-1") for _ in range(4)]
    assert [d["TrainingJobStatus"] for d in seen] == ["InProgress", "InProgress", "Completed", "Completed"]
    assert seen[0]["SecondaryStatus"] == "Training"
    assert seen[2]["ModelArtifacts"]["S3ModelArtifacts"] == "s3://bucket/models/churn-1/output/model.tar.gz"
    assert seen[2] == {**seen[3], "ResponseMetadata": seen[2]["ResponseMetadata"]}  # a finished job reads the same


def test_a_second_create_with_a_live_name_is_resource_in_use(serve) -> None:
    fake, client = serve(TrainingJobApi)
    client.create_training_job(**TRAINING)
    error = error_of(lambda: client.create_training_job(**TRAINING))
    assert error["Code"] == "ResourceInUse" and "must be unique" in error["Message"]
    assert [(job.submits, job.idempotency_key) for job in fake.jobs()] == [(2, "churn-1")]


def test_unknown_names_are_validation_errors_for_training_and_resource_not_found_for_tuning(serve) -> None:
    _, training = serve(TrainingJobApi)
    assert error_of(lambda: training.describe_training_job(TrainingJobName="gone")) == {
        "Code": "ValidationException", "Message": "Requested resource not found."}
    assert error_of(lambda: training.stop_training_job(TrainingJobName="gone"))["Code"] == "ValidationException"
    _, tuning = serve(TuningJobApi)
    error = error_of(lambda: tuning.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="gone"))
    assert error["Code"] == "ResourceNotFound"


def test_stop_of_a_finished_job_is_rejected_naming_its_status(serve) -> None:
    fake, client = serve(TrainingJobApi)
    fake.script([fake.states.running, fake.states.failed], message="AlgorithmError: boom")
    client.create_training_job(**TRAINING)
    while client.describe_training_job(TrainingJobName="churn-1")["TrainingJobStatus"] != "Failed":
        pass
    assert client.describe_training_job(TrainingJobName="churn-1")["FailureReason"] == "AlgorithmError: boom"
    assert error_of(lambda: client.stop_training_job(TrainingJobName="churn-1")) == {
        "Code": "ValidationException",
        "Message": "The request was rejected because the training job is in status Failed."}


def test_stop_of_a_running_job_stops_it_and_a_second_stop_is_accepted(serve) -> None:
    fake, client = serve(TrainingJobApi)
    client.create_training_job(**TRAINING)
    client.describe_training_job(TrainingJobName="churn-1")
    client.stop_training_job(TrainingJobName="churn-1")
    client.stop_training_job(TrainingJobName="churn-1")  # still Stopping: accepted
    assert client.describe_training_job(TrainingJobName="churn-1")["TrainingJobStatus"] == "Stopped"
    assert fake.jobs()[0].cancels == 2 and not fake.live_jobs()


def test_endpoint_delete_is_refused_while_creating_then_deletes_and_is_gone(serve) -> None:
    fake, client = serve(EndpointApi)
    client.create_endpoint(EndpointName="churn", EndpointConfigName="cfg")
    assert error_of(lambda: client.create_endpoint(EndpointName="churn", EndpointConfigName="cfg"))["Message"] == \
        'Cannot create already existing endpoint "arn:aws:sagemaker:us-east-2:123456789012:endpoint/churn".'
    assert client.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "Creating"
    assert error_of(lambda: client.delete_endpoint(EndpointName="churn"))["Message"].startswith(
        "Cannot update in-progress endpoint")
    while client.describe_endpoint(EndpointName="churn")["EndpointStatus"] != "InService":
        pass
    client.delete_endpoint(EndpointName="churn")
    gone = 'Could not find endpoint "arn:aws:sagemaker:us-east-2:123456789012:endpoint/churn".'
    assert error_of(lambda: client.describe_endpoint(EndpointName="churn")) == {
        "Code": "ValidationException", "Message": gone}
    assert error_of(lambda: client.delete_endpoint(EndpointName="churn"))["Message"] == gone
    client.create_endpoint(EndpointName="churn", EndpointConfigName="cfg")  # a deleted name is free again


def test_purge_forgets_the_job_and_frees_its_name_where_the_api_can_delete(serve) -> None:
    fake, client = serve(TrainingJobApi)
    client.create_training_job(**TRAINING)
    for _ in range(3):
        client.describe_training_job(TrainingJobName="churn-1")
    fake.purge()
    assert error_of(lambda: client.stop_training_job(TrainingJobName="churn-1"))["Code"] == "ValidationException"
    client.create_training_job(**TRAINING)
    transform, _ = serve(TransformJobApi)
    with pytest.raises(NotModelled, match="DeleteTransformJob"):
        transform.purge()


def test_lost_answers_and_faults_reach_the_client_and_invisibility_is_not_modelled(serve) -> None:
    fake, client = serve(TrainingJobApi)
    with pytest.raises(NotModelled, match="no delay before a created job"):
        fake.invisible_for(1)
    fake.fault("submit", kind="lost")
    with pytest.raises(Exception):  # noqa: B017 - botocore's retry decides which error ends it
        client.create_training_job(**TRAINING)
    assert client.describe_training_job(TrainingJobName="churn-1")["TrainingJobStatus"] == "InProgress"
    fake.fault("status", status=503)
    assert error_of(lambda: client.describe_training_job(TrainingJobName="churn-1"))["Code"] == "ServiceUnavailable"
    assert fake.counters()["status"] == 2


def test_a_completed_tuning_job_names_its_best_training_job_which_describes(serve) -> None:
    fake, client = serve(TuningJobApi)
    client.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo-1",
        HyperParameterTuningJobConfig={"Strategy": "Bayesian",
                                       "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}},
        TrainingJobDefinition={key: TRAINING[key] for key in TRAINING if key != "TrainingJobName"})
    assert error_of(lambda: client.describe_training_job(TrainingJobName=best_training_job("hpo-1")))
    done = [client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo-1") for _ in range(3)][-1]
    best = done["BestTrainingJob"]["TrainingJobName"]
    assert done["HyperParameterTuningJobStatus"] == "Completed" and best == best_training_job("hpo-1")
    artifacts = client.describe_training_job(TrainingJobName=best)["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifacts == f"s3://bucket/models/{best}/output/model.tar.gz"


def test_recommendation_jobs_speak_all_caps(serve) -> None:
    fake, client = serve(RecommenderJobApi)
    client.create_inference_recommendations_job(JobName="rec-1", JobType="Default", RoleArn=TRAINING["RoleArn"],
                                                InputConfig={"ModelPackageVersionArn": "arn:pkg/1"})
    statuses = [client.describe_inference_recommendations_job(JobName="rec-1")["Status"] for _ in range(3)]
    assert statuses == ["PENDING", "IN_PROGRESS", "COMPLETED"]
    assert error_of(lambda: client.stop_inference_recommendations_job(JobName="rec-1"))["Message"].endswith(
        "is in status COMPLETED.")


def test_serve_sagemaker_is_a_started_fake_for_the_block() -> None:
    with serve_sagemaker(TrainingJobApi) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
    assert fake.states.succeeded == "Completed"


def test_the_bindings_environment_alone_points_botocore_at_the_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """No endpoint_url: botocore's service-specific AWS_ENDPOINT_URL_SAGEMAKER and AWS_CA_BUNDLE do it."""
    from conformance.bindings.sagemaker import environment

    with serve_sagemaker(TrainingJobApi) as fake:
        for variable, value in {**environment(fake), "AWS_CA_BUNDLE": str(trust() / "ca.pem")}.items():
            monkeypatch.setenv(variable, value)
        boto3.session.Session().client("sagemaker").create_training_job(**TRAINING)
        assert [job.idempotency_key for job in fake.jobs()] == ["churn-1"]


def test_a_job_running_a_flyte_task_writes_its_outputs_pb_when_it_completes(tmp_path, serve) -> None:
    """Pythonic mode: the entrypoint is the rendered pyflyte-execute, whose --output-prefix gets outputs.pb."""
    from flyteidl.core import literals_pb2

    fake, client = serve(TrainingJobApi)
    fake.script([fake.states.running, fake.states.succeeded], outputs={"o0": 0.93})
    entrypoint = ["pyflyte-execute", "--inputs", str(tmp_path / "inputs.pb"), "--output-prefix", str(tmp_path)]
    spec = {**TRAINING["AlgorithmSpecification"], "ContainerEntrypoint": entrypoint}
    client.create_training_job(**{**TRAINING, "AlgorithmSpecification": spec})
    client.describe_training_job(TrainingJobName="churn-1")
    assert not (tmp_path / "outputs.pb").exists()  # still running
    client.describe_training_job(TrainingJobName="churn-1")
    written = literals_pb2.LiteralMap.FromString((tmp_path / "outputs.pb").read_bytes())
    assert written.literals["o0"].scalar.primitive.float_value == 0.93
