"""Binding for flytekitplugins-bigquery's BigQueryConnector: the BigQuery v2 jobs API, faked on 127.0.0.1.

The connector builds ``bigquery.Client(project=, location=, client_info=)`` in create() and a bare
``bigquery.Client()`` in get() and delete(), so only the environment can redirect it, and does, in the
ways google-cloud-bigquery and google-auth document:

- ``BIGQUERY_EMULATOR_HOST``: the base URL every Client sends its requests to (plain HTTP);
- ``GOOGLE_APPLICATION_CREDENTIALS``: an ``authorized_user`` file holding a pre-issued access token
  (``fake_backends.bigquery.write_credentials``), so ``google.auth.default()`` neither looks for a
  metadata server nor refreshes a token: nothing contacts Google;
- ``GOOGLE_CLOUD_PROJECT``: the project a bare ``Client()`` bills to, as on a connector deployment.
"""

from __future__ import annotations

from typing import Any

from conformance.bindings import Binding, registered_template

PROJECT = "flyte-conformance"
LOCATION = "us-central1"
"""A single region: BigQuery finds such a job only when the location is given, so the meta must carry it."""
QUERY = ("SELECT * FROM `bigquery-public-data.crypto_dogecoin.transactions` "
         "WHERE version = @version LIMIT 10")
"""flytekit's documented BigQuery example: an input bound as a named query parameter."""


def _backend() -> Any:
    from fake_backends.bigquery import serve_bigquery

    return serve_bigquery()


def _template(backend: Any) -> Any:
    """The task as a user registers it: ``BigQueryTask`` with project, location, an int input, a dataset out."""
    from flytekit import StructuredDataset, kwtypes
    from flytekitplugins.bigquery import BigQueryConfig, BigQueryTask

    task = BigQueryTask(
        name="conformance.bigquery.doge_transactions",
        inputs=kwtypes(version=int),
        output_structured_dataset_type=StructuredDataset,
        task_config=BigQueryConfig(ProjectID=PROJECT, Location=LOCATION),
        query_template=QUERY,
    )
    return registered_template(task)


def _inputs(backend: Any) -> dict[str, Any]:
    return {"version": 1}


def _environment(backend: Any) -> dict[str, str]:
    return {"BIGQUERY_EMULATOR_HOST": backend.url, "GOOGLE_APPLICATION_CREDENTIALS": backend.credentials_file,
            "GOOGLE_CLOUD_PROJECT": PROJECT}


BINDINGS: list[Binding] = [
    Binding(
        connector="flytekitplugins.bigquery.connector.BigQueryConnector",
        distribution="flytekitplugins-bigquery",
        backend=_backend,
        template=_template,
        inputs=_inputs,
        environment=_environment,
        notes="BIGQUERY_EMULATOR_HOST points google-cloud-bigquery at fake_backends.bigquery (HTTP on 127.0.0.1); "
              "GOOGLE_APPLICATION_CREDENTIALS names an authorized_user file with a pre-issued token, so "
              "google-auth contacts nobody; GOOGLE_CLOUD_PROJECT is the bare Client()'s project.",
    ),
]
