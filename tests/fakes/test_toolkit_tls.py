"""A fake served with tls=True is trusted by real clients through fake_backends.tls.trust() alone.

requests and httpx read the bundle's variables on each request; aiohttp reads them once, when it is
imported, so trust() must come first: both orders are checked in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Iterator

import pytest

from fake_backends import FakeServer, JobApi, serve
from fake_backends.tls import TRUST_VARIABLES, trust

FETCH = """
import asyncio
{first}
{second}

async def fetch():
    async with aiohttp.ClientSession() as session:
        async with session.get({url!r}) as response:
            return response.status

try:
    print(asyncio.run(fetch()))
except aiohttp.ClientConnectorCertificateError:
    print("certificate refused")
"""
TRUST = "from fake_backends.tls import trust; trust()"
IMPORT = "import aiohttp"


@pytest.fixture(scope="module")
def https_fake() -> Iterator[FakeServer]:
    trust()
    with serve(JobApi, tls=True) as fake:
        yield fake


def fresh_interpreter(code: str) -> str:
    """stdout of ``code`` in a new Python that inherits the run's CA directory but trusts nothing yet."""
    env = {key: value for key, value in os.environ.items() if key not in TRUST_VARIABLES}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_fake_serves_https_on_loopback(https_fake: FakeServer) -> None:
    assert https_fake.url.startswith("https://127.0.0.1:")


def test_requests_trusts_the_fake(https_fake: FakeServer) -> None:
    requests = pytest.importorskip("requests")
    assert requests.get(f"{https_fake.url}/jobs", timeout=10).json() == {"jobs": []}


def test_httpx_trusts_the_fake(https_fake: FakeServer) -> None:
    httpx = pytest.importorskip("httpx")
    assert httpx.get(f"{https_fake.url}/jobs", timeout=10).json() == {"jobs": []}


def test_aiohttp_trusts_the_fake_when_trust_runs_before_it_is_imported(https_fake: FakeServer) -> None:
    assert fresh_interpreter(FETCH.format(first=TRUST, second=IMPORT, url=f"{https_fake.url}/jobs")) == "200"


def test_aiohttp_imported_before_trust_refuses_the_fake(https_fake: FakeServer) -> None:
    # Why the plugin, and a conftest serving HTTPS, call trust() before anything imports aiohttp.
    output = fresh_interpreter(FETCH.format(first=IMPORT, second=TRUST, url=f"{https_fake.url}/jobs"))
    assert output == "certificate refused"
