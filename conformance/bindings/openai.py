"""Binding for flytekitplugins-openai's BatchEndpointConnector: the OpenAI Batch API, faked on 127.0.0.1.

The connector builds ``openai.AsyncOpenAI(organization=..., api_key=<FLYTE_OPENAI_API_KEY secret>)``
on every call; the client reads its base URL from ``OPENAI_BASE_URL`` when none is passed, so that
variable alone points it at the fake (plain HTTP, no CA needed). The API key comes through flytekit's
secrets and is replaced by the suite's canary, so no credential is set here.
"""

from __future__ import annotations

from typing import Any

from conformance.bindings import Binding, registered_template

ORGANIZATION = "org-conformance"
INPUT_FILE_ID = "file-conformance-requests"
"""The uploaded JSONL of requests a workflow passes in (``UploadJSONLFileTask``'s output)."""


def _backend() -> Any:
    from fake_backends.openai_batches import serve_openai

    return serve_openai()


def _template(backend: Any) -> Any:
    """The task as a user registers it: ``BatchEndpointTask`` with an organization and a batch config."""
    from flytekitplugins.openai import BatchEndpointTask

    task = BatchEndpointTask(
        name="conformance.openai.batch_chat_completions",
        openai_organization=ORGANIZATION,
        config={"endpoint": "/v1/chat/completions", "completion_window": "24h",
                "metadata": {"team": "evals", "run": "nightly"}},
    )
    return registered_template(task)


def _inputs(backend: Any) -> dict[str, Any]:
    return {"input_file_id": INPUT_FILE_ID}


def _environment(backend: Any) -> dict[str, str]:
    return {"OPENAI_BASE_URL": backend.base_url}


BINDINGS: list[Binding] = [
    Binding(
        connector="flytekitplugins.openai.batch.connector.BatchEndpointConnector",
        distribution="flytekitplugins-openai",
        backend=_backend,
        template=_template,
        inputs=_inputs,
        environment=_environment,
        notes="OPENAI_BASE_URL points the openai client at fake_backends.openai_batches (HTTP on "
              "127.0.0.1); the FLYTE_OPENAI_API_KEY secret is the suite's canary.",
    ),
]
