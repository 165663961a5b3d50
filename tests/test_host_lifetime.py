"""The connector host ends with the session that started it, also when one process runs several sessions."""

from __future__ import annotations

import os
import subprocess

import pytest


def _hosts_of_this_process() -> list[str]:
    listing = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(os.getpid())], capture_output=True,
                             text=True, check=True).stdout
    return [line for line in listing.splitlines() if "conformance.host" in line]


def test_each_in_process_session_ends_its_host(pytester: pytest.Pytester) -> None:
    # pytester drops the modules a run imported; a later run that reached the dropped conformance.host
    # through the package attribute started a host that no session ended (one leaked per run).
    for _ in range(3):
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--connector=conformance.reference."
                                              "ReferenceConnector", "-k", "STRUCT-TASK-CATEGORY")
        result.assert_outcomes(passed=1)
        assert _hosts_of_this_process() == []
