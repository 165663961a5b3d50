"""The run's CA is trusted before a user's conftest imports anything (aiohttp reads the bundle at import)."""

from __future__ import annotations

import pytest

CONFTEST = '''
import os

with open("seen.txt", "w") as seen:
    seen.write(os.environ.get("SSL_CERT_FILE", ""))
'''


@pytest.mark.parametrize("how", ["option", "ini"])
def test_a_conftest_already_sees_the_trusted_bundle(pytester: pytest.Pytester, how: str) -> None:
    pytester.makeconftest(CONFTEST)
    spec = "conformance.reference.ReferenceConnector"
    if how == "ini":
        pytester.makeini(f"[pytest]\nconnectors = {spec}\n")
    args = [f"--connector={spec}"] if how == "option" else []
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", "-k", "loads")
    assert result.ret == 0, result.stdout.str()
    assert (pytester.path / "seen.txt").read_text().endswith("bundle.pem")


def test_without_connector_nothing_is_trusted(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("SSL_CERT_FILE", "CONFORMANCE_TLS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("def test_nothing(): pass")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert (pytester.path / "seen.txt").read_text() == ""
