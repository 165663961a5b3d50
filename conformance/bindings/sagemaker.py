"""Bindings for the flytekitplugins-awssagemaker connectors: each against the fake of its SageMaker family.

Every template is built with the plugin's own task class and serialized as ``pyflyte register``
does, with the config a user's workflow would carry: a job name made unique per config with the
plugin's ``{idempotence_token}`` placeholder (what its own deployment helper appends, and what its
create() needs to treat "name already in use" as its own earlier job), values from ``{inputs.X}``
and ``{images.X}``. The plugin's aioboto3 clients reach the fake through
``AWS_ENDPOINT_URL_SAGEMAKER`` (botocore's service-specific endpoint variable) over HTTPS with the
run's CA (``AWS_CA_BUNDLE``), with dummy credentials and the EC2 metadata service disabled, so
nothing leaves 127.0.0.1.

The Pythonic-mode connectors (``SageMakerTrainingTaskConnector``, ``SageMakerProcessingTaskConnector``)
run a ``@task`` function in the job: their templates come from ``@task(task_config=SageMakerTraining(...))``
as a user writes it, and the fake's job writes ``outputs.pb`` under the rendered ``--output-prefix``.
Not bound: the synchronous ``BotoConnector`` (the suite checks async connectors only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from conformance.bindings import Binding, registered_template

DISTRIBUTION = "flytekitplugins-awssagemaker"
REGION = "us-east-2"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
XGBOOST_IMAGE = "257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-xgboost:1.7-1"
BUCKET = "s3://conformance-ml-bucket"


def environment(backend: Any) -> Mapping[str, str]:
    """Point botocore at the fake, with credentials that can only ever sign for it."""
    return {
        "AWS_ENDPOINT_URL_SAGEMAKER": backend.url,
        "AWS_ACCESS_KEY_ID": "AKIACONFORMANCEDUMMY",
        "AWS_SECRET_ACCESS_KEY": "conformance-dummy-secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def _backend(api_name: str, **options: Any) -> Any:
    """Starts the fake of one SageMaker family (``options``: e.g. what a Pythonic-mode job returns)."""

    def start() -> Any:
        from fake_backends import sagemaker

        return sagemaker.serve_sagemaker(getattr(sagemaker, api_name), **options)

    return start


def _training_config() -> dict[str, Any]:
    """A CreateTrainingJob request for the built-in XGBoost algorithm (also the tuning job's definition)."""
    return {
        "AlgorithmSpecification": {"TrainingImage": "{images.xgboost}", "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [{
            "ChannelName": "train", "ContentType": "text/csv",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "{inputs.train_data}",
                                            "S3DataDistributionType": "FullyReplicated"}},
        }],
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/churn/models"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def endpoint_template(backend: Any) -> Any:
    from flytekit import kwtypes
    from flytekitplugins.awssagemaker_inference import SageMakerEndpointTask

    return registered_template(SageMakerEndpointTask(
        name="deploy_churn_endpoint",
        config={"EndpointName": "churn-xgboost-{idempotence_token}",
                "EndpointConfigName": "{inputs.endpoint_config_name}"},
        region=REGION,
        inputs=kwtypes(endpoint_config_name=str),
    ))


def training_template(backend: Any) -> Any:
    from flytekit import kwtypes
    from flytekitplugins.awssagemaker_training import SageMakerTrainingJobTask

    config = {"TrainingJobName": "churn-xgboost-{idempotence_token}", **_training_config(),
              "HyperParameters": {"objective": "binary:logistic", "num_round": "50", "max_depth": "5"}}
    return registered_template(SageMakerTrainingJobTask(
        name="train_churn_model", config=config, region=REGION, images={"xgboost": XGBOOST_IMAGE},
        inputs=kwtypes(train_data=str)))


def processing_template(backend: Any) -> Any:
    from flytekit import kwtypes
    from flytekitplugins.awssagemaker_processing import SageMakerProcessingJobTask

    config = {
        "ProcessingJobName": "churn-features-{idempotence_token}",
        "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": "{images.sklearn}",
                             "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/features.py"]},
        "ProcessingInputs": [{"InputName": "raw", "S3Input": {
            "S3Uri": "{inputs.raw_data}", "LocalPath": "/opt/ml/processing/input", "S3DataType": "S3Prefix",
            "S3InputMode": "File"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "features", "S3Output": {
            "S3Uri": f"{BUCKET}/churn/features", "LocalPath": "/opt/ml/processing/output",
            "S3UploadMode": "EndOfJob"}}]},
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                                                  "VolumeSizeInGB": 30}},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    image = "257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    return registered_template(SageMakerProcessingJobTask(name="churn_features", config=config, region=REGION,
                                                           images={"sklearn": image}, inputs=kwtypes(raw_data=str)))


def transform_template(backend: Any) -> Any:
    from flytekit import kwtypes
    from flytekitplugins.awssagemaker_batch_transform import SageMakerTransformJobTask

    config = {
        "TransformJobName": "churn-scores-{idempotence_token}",
        "ModelName": "{inputs.model_name}",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "{inputs.batch_data}"}},
                           "ContentType": "text/csv", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": f"{BUCKET}/churn/scores"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    }
    return registered_template(SageMakerTransformJobTask(name="score_churn", config=config, region=REGION,
                                                          inputs=kwtypes(model_name=str, batch_data=str)))


def tuning_template(backend: Any) -> Any:
    from flytekit import kwtypes
    from flytekitplugins.awssagemaker_hyperparameter_tuning import SageMakerHyperParameterTuningJobTask

    config = {
        "HyperParameterTuningJobName": "churn-hpo-{idempotence_token}",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}],
                                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "9"}]},
        },
        "TrainingJobDefinition": {**_training_config(),
                                  "StaticHyperParameters": {"objective": "binary:logistic", "num_round": "50"}},
    }
    return registered_template(SageMakerHyperParameterTuningJobTask(
        name="tune_churn_model", config=config, region=REGION, images={"xgboost": XGBOOST_IMAGE},
        inputs=kwtypes(train_data=str)))


def recommender_template(backend: Any) -> Any:
    from flytekit import kwtypes
    from flytekitplugins.awssagemaker_inference_recommender import SageMakerInferenceRecommenderJobTask

    config = {
        "JobName": "churn-recommend-{idempotence_token}",
        "JobType": "Default",
        "RoleArn": ROLE,
        "InputConfig": {"ModelPackageVersionArn": "{inputs.model_package_arn}", "JobDurationInSeconds": 7200},
    }
    return registered_template(SageMakerInferenceRecommenderJobTask(
        name="recommend_churn_instance", config=config, region=REGION, inputs=kwtypes(model_package_arn=str)))


TRAIN_DATA = {"train_data": f"{BUCKET}/churn/train/"}
FLYTE_IMAGE = "123456789012.dkr.ecr.us-east-2.amazonaws.com/churn-flyte:v7"
PYTHONIC_OUTPUTS = {"o0": 0.93}
"""What the task function returns; the fake's job writes it as outputs.pb."""


def train_churn(epochs: int) -> float:
    """The function a Pythonic-mode job runs (never here: the fake only writes what it returns)."""
    return PYTHONIC_OUTPUTS["o0"]


def pythonic_template(config_class: str, module: str) -> Any:
    """``@task(task_config=<config_class>(...), container_image=...)`` over :func:`train_churn`, serialized."""

    def template(backend: Any) -> Any:
        import importlib

        from flytekit import task

        config = getattr(importlib.import_module(f"flytekitplugins.awssagemaker_{module}"), config_class)
        return registered_template(task(task_config=config(execution_role_arn=ROLE, region=REGION,
                                                            instance_type="ml.m5.xlarge"),
                                         container_image=FLYTE_IMAGE)(train_churn))

    return template



def _binding(connector: str, api: str, template: Any, inputs: dict[str, str], notes: str) -> Binding:
    return Binding(connector=connector, distribution=DISTRIBUTION, backend=_backend(api), template=template,
                   inputs=lambda backend: dict(inputs), environment=environment, notes=notes)


def _pythonic(module: str, config_class: str, api: str) -> Binding:
    """A Pythonic-mode connector: its job runs :func:`train_churn`, whose outputs.pb the fake writes."""
    kind = config_class[len("SageMaker"):]
    return Binding(connector=f"flytekitplugins.awssagemaker_{module}.connector.SageMaker{kind}TaskConnector",
                   distribution=DISTRIBUTION, backend=_backend(api, default_outputs=PYTHONIC_OUTPUTS),
                   template=pythonic_template(config_class, module), inputs=lambda backend: {"epochs": 20},
                   environment=environment,
                   notes=f"Pythonic mode: the {module} job runs the task; the fake writes its outputs.pb")


BINDINGS: list[Binding] = [
    _binding("flytekitplugins.awssagemaker_inference.connector.SageMakerEndpointConnector", "EndpointApi",
             endpoint_template, {"endpoint_config_name": "churn-xgboost-config-v3"},
             "CreateEndpoint/DescribeEndpoint/DeleteEndpoint on the fake's endpoint family"),
    _binding("flytekitplugins.awssagemaker_training.connector.SageMakerTrainingJobConnector", "TrainingJobApi",
             training_template, TRAIN_DATA, "Create/Describe/StopTrainingJob on the fake's training family"),
    _binding("flytekitplugins.awssagemaker_processing.connector.SageMakerProcessingJobConnector",
             "ProcessingJobApi", processing_template, {"raw_data": f"{BUCKET}/churn/raw/"},
             "Create/Describe/StopProcessingJob on the fake's processing family"),
    _binding("flytekitplugins.awssagemaker_batch_transform.connector.SageMakerTransformJobConnector",
             "TransformJobApi", transform_template,
             {"model_name": "churn-xgboost-model", "batch_data": f"{BUCKET}/churn/batch/"},
             "Create/Describe/StopTransformJob on the fake's transform family"),
    _binding("flytekitplugins.awssagemaker_hyperparameter_tuning.connector.SageMakerHyperParameterTuningJobConnector",
             "TuningJobApi", tuning_template, TRAIN_DATA,
             "Create/Describe/StopHyperParameterTuningJob, and DescribeTrainingJob of the best job"),
    _binding("flytekitplugins.awssagemaker_inference_recommender.connector.SageMakerInferenceRecommenderJobConnector",
             "RecommenderJobApi", recommender_template,
             {"model_package_arn": "arn:aws:sagemaker:us-east-2:123456789012:model-package/churn/3"},
             "Create/Describe/StopInferenceRecommendationsJob on the fake's recommender family"),
    _pythonic("training", "SageMakerTraining", "TrainingJobApi"),
    _pythonic("processing", "SageMakerProcessing", "ProcessingJobApi"),
]
