"""HTTPS for fakes: a certificate authority made for the test run, trusted through the standard variables.

Connectors build their own HTTP clients (aiohttp, httpx, requests, botocore) and some hard-code
``https://``. Rather than patching each client's private SSL context, :func:`trust` writes a CA
bundle (the machine's roots plus the run's CA) and points the variables every stack reads at it:
``SSL_CERT_FILE`` (OpenSSL, so aiohttp and httpx), ``REQUESTS_CA_BUNDLE`` (requests, google-auth)
and ``AWS_CA_BUNDLE`` (botocore). aiohttp builds its default context when it is imported, so
:func:`trust` must run before the connector's HTTP stack is imported: the pytest plugin calls it
before it loads any connector.

The CA lives in a temporary directory named by ``CONFORMANCE_TLS_DIR``; child processes
(xdist workers, isolated clauses) inherit the variable and reuse the same CA, and the process
that made the directory removes it at exit.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import ssl
import sys
import tempfile
from pathlib import Path

__all__ = ["trust", "server_context", "untrusted_clients", "TRUST_VARIABLES"]

CA_DIR_VARIABLE = "CONFORMANCE_TLS_DIR"
TRUST_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE")
SERVER_NAMES = ("127.0.0.1", "localhost")
IMPORT_TIME_CONTEXTS = ("aiohttp",)
"""Client libraries that build their default SSL context once, when imported (aiohttp/connector.py)."""

_untrusting: frozenset = frozenset()


def _roots() -> bytes:
    """The trust store clients use today, so adding our CA takes nothing away."""
    for path in (os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().cafile, _certifi()):
        if path and Path(path).is_file():
            return Path(path).read_bytes()
    return b""


def _certifi() -> str | None:
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


def _made_here() -> Path:
    """A new CA, its key and the bundle in a fresh directory this process removes at exit."""
    import trustme

    directory = Path(tempfile.mkdtemp(prefix="conformance-tls-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    ca = trustme.CA(organization_name="flyte-connector-conformance test CA")
    (directory / "ca.pem").write_bytes(ca.cert_pem.bytes())
    (directory / "ca.key").write_bytes(ca.private_key_pem.bytes())
    (directory / "bundle.pem").write_bytes(_roots() + b"\n" + ca.cert_pem.bytes())
    return directory


@functools.cache
def trust() -> Path:
    """Make (or reuse) the run's CA and make every HTTP stack in this process and its children trust it.

    Idempotent. Returns the CA's directory.
    """
    global _untrusting
    inherited = os.environ.get(CA_DIR_VARIABLE)
    directory = Path(inherited) if inherited and (Path(inherited) / "bundle.pem").is_file() else _made_here()
    if os.environ.get("SSL_CERT_FILE") != str(directory / "bundle.pem"):  # not inherited from our parent
        _untrusting = frozenset(name for name in IMPORT_TIME_CONTEXTS if name in sys.modules)
    os.environ[CA_DIR_VARIABLE] = str(directory)
    for variable in TRUST_VARIABLES:
        os.environ[variable] = str(directory / "bundle.pem")
    return directory


def untrusted_clients() -> frozenset:
    """The :data:`IMPORT_TIME_CONTEXTS` imported before :func:`trust` first ran here: their default SSL
    context was built without the run's CA, so they refuse every HTTPS fake (e.g. a conftest.py that
    imports flytekit, which imports aiohttp). No public API can add the CA to it afterwards."""
    trust()
    return _untrusting


@functools.cache
def server_context() -> ssl.SSLContext:
    """The server side: a certificate for 127.0.0.1 and localhost, issued by the run's CA."""
    import trustme

    directory = trust()
    ca = trustme.CA.from_pem((directory / "ca.pem").read_bytes(), (directory / "ca.key").read_bytes())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*SERVER_NAMES).configure_cert(context)
    return context
