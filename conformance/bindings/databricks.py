"""Bindings for the Databricks connectors of flytekitplugins-spark: Jobs API 2.1 runs over HTTPS.

Both connectors build ``https://{databricks_instance}/api/2.1/jobs/runs/...`` with aiohttp. The
fake (:mod:`fake_backends.databricks`) is served over HTTPS with the run's CA, which aiohttp trusts
through ``SSL_CERT_FILE`` (:mod:`fake_backends.tls`); the task config's ``databricks_instance`` names
the fake (``127.0.0.1:port``), as a user names their workspace. The access token is read with
``get_connector_secret("FLYTE_DATABRICKS_ACCESS_TOKEN")``, which the suite answers with a canary.

The templates are what a user registers: ``@task(task_config=DatabricksV2(...))`` (task type
``databricks``, DatabricksConnectorV2) and the deprecated ``Databricks(...)`` (task type ``spark``,
DatabricksConnector), serialized with flytekit's own translator.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from conformance.bindings import Binding, registered_template

_DISTRIBUTION = "flytekitplugins-spark"
_PARTITIONS = 10


def estimate_pi(partitions: int) -> float:
    """The user's Spark function (the flytesnacks Databricks example); it runs on the cluster, never here."""
    import random

    import flytekit

    spark = flytekit.current_context().spark_session
    hits = spark.sparkContext.parallelize(range(partitions * 10_000), partitions).filter(
        lambda _: random.random() ** 2 + random.random() ** 2 < 1).count()
    return 4.0 * hits / (partitions * 10_000)


def _v2_config(instance: str) -> Any:
    """A classic-compute DatabricksV2 task on a new cluster (the plugin's documented example)."""
    from flytekitplugins.spark import DatabricksV2

    return DatabricksV2(
        spark_conf={"spark.driver.memory": "1000M", "spark.executor.instances": "2"},
        databricks_conf={
            "run_name": "flyte-estimate-pi",
            "new_cluster": {"spark_version": "13.3.x-scala2.12", "node_type_id": "m5.xlarge", "num_workers": 2,
                            "aws_attributes": {"availability": "ON_DEMAND"}},
            "timeout_seconds": 3600,
            "max_retries": 0,
        },
        databricks_instance=instance,
    )


def _v1_config(instance: str) -> Any:
    """The deprecated Databricks task config on an existing cluster (task type ``spark``)."""
    from flytekitplugins.spark import Databricks

    return Databricks(
        spark_conf={"spark.driver.memory": "1000M"},
        databricks_conf={"run_name": "flyte-estimate-pi", "existing_cluster_id": "0710-112233-abcd1234",
                         "timeout_seconds": 3600},
        databricks_instance=instance,
    )


def _template(task_config: Any) -> Any:
    """The TaskTemplate flytekit registers for ``estimate_pi`` with this task config."""
    from flytekit import task

    image = "ghcr.io/example/spark-pi:1.0"
    return registered_template(task(task_config=task_config, container_image=image)(estimate_pi), image)


@contextlib.contextmanager
def _fake() -> Iterator[Any]:
    """A started HTTPS fake of the Jobs API whose successful runs write ``estimate_pi``'s output."""
    from fake_backends.databricks import DatabricksApi
    from fake_backends.tls import untrusted_clients
    from fake_backends.toolkit import FakeServer

    if "aiohttp" in untrusted_clients():  # a harness error, never the connector's certificate failure
        raise RuntimeError(
            "aiohttp was imported before the suite trusted its test CA (fake_backends.tls.trust), e.g. by a "
            "conftest.py importing flytekit: its default SSL context refuses the HTTPS Databricks fake. "
            "Import flytekit/aiohttp inside fixtures, not at conftest import.")
    with FakeServer(DatabricksApi, tls=True, default_outputs={"o0": 3.14159}) as server:
        yield server


def _environment(backend: Any) -> dict[str, str]:
    """Keep the plugin's namespace-secret lookup off any real cluster should ``kubernetes`` be installed:
    no in-cluster service host and no kubeconfig, so it falls back to the (canary) connector secret."""
    return {"KUBERNETES_SERVICE_HOST": "", "KUBECONFIG": "/nonexistent/conformance-kubeconfig"}


_NOTES = ("HTTPS fake of the Jobs API 2.1 (runs submit/get/cancel) on 127.0.0.1; databricks_instance in the "
          "task config names it; the run's CA is trusted through SSL_CERT_FILE; the PAT is a canary.")


def _binding(connector: str, task_config: Callable[[str], Any]) -> Binding:
    """The two connectors differ only in the task config a user writes for them (and so the task type)."""
    return Binding(
        connector=f"flytekitplugins.spark.connector.{connector}",
        distribution=_DISTRIBUTION,
        backend=_fake,
        template=lambda backend: _template(task_config(backend.address)),
        inputs=lambda backend: {"partitions": _PARTITIONS},
        environment=_environment,
        notes=_NOTES,
    )


BINDINGS: list[Binding] = [_binding("DatabricksConnectorV2", _v2_config), _binding("DatabricksConnector", _v1_config)]
