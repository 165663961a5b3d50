"""Connector code cannot take the run down (issue #12): each misbehaving connector of tests/broken/crashes.py,
end to end, with and without xdist.

One run per mode holds every case (one --connector each), so the machine pays for two suite runs, not
twenty. Each run must end within RUN_BOUND, fail, report every selected clause of every connector, name
the clause in flight when the host process died, print fewer than MAX_LINES lines and leave no process
and nothing of ours in its TMPDIR but the crash logs its report names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
CLAUSES = ("STRUCT-SIGNATURES", "PHASE-ACCEPTED", "DELETE-TWICE")
TOURED = "HYGIENE"
"""Selected for LITTER only: it tours the whole suite, the slowest clause."""
DEADLINE = 5
"""--connector-deadline for the run: a stuck host is declared so after DEADLINE + STALL_GRACE s."""
RUN_BOUND = 420
"""Seconds the whole run may take on a loaded 2-core machine."""
MAX_LINES = 300

KILLERS = {
    "ExitsInGet": "exited with status 3",
    "ExitsInDelete": "exited with status 4",
    "SegfaultsInGet": "killed by SIGSEGV",
    "KillsItselfInGet": "killed by SIGKILL",
    "ClosesDescriptorsInGet": "",  # dies or goes silent, depending on which descriptor fails first
    "HoldsTheGilInGet": "stopped answering",
    "StopsItselfInGet": "stopped answering",
}
"""Connectors that end or stop their process: the first clause that gets there is CRASHED, and those that
need the setup probe's step it died in are BLOCKED."""
CLEAN = ("Steady", "ChangesDirectoryBack", "JoinsThreads", "ReapsChildren", "ReadsStdin", "ChangesDirectory",
         "PatchesGlobals", "Unsendable")
"""The correct twins, and habits that a process of its own makes harmless: every clause passes."""
LITTER = ("LeavesThreads", "LeavesChildren")
"""Leave threads or processes behind: HYGIENE (SHOULD) says so, the host's end reaps them."""

CONFTEST = '''
import threading
import pytest
from conformance.backends import default_factory

@pytest.fixture
def connector_factory(connector_class, connector_backend):
    if connector_class.__name__ != "Unsendable":
        return default_factory(connector_class, connector_backend)
    lock = threading.Lock()  # cannot be pickled: this connector runs in the suite's own process

    def build():
        with lock:
            return connector_class(base_url=connector_backend.url)
    return build
'''


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("workers", ["0", "2"])
def test_misbehaving_connectors_end_in_a_bounded_complete_report(pytester: pytest.Pytester, monkeypatch,
                                                                  tmp_path: Path, workers: str) -> None:
    temp, pids = tmp_path / "tmp", tmp_path / "pids"
    temp.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("CONFORMANCE_PID_FILE", str(pids))
    pytester.makeconftest(CONFTEST)
    connectors = [*KILLERS, *CLEAN, *LITTER]
    began = time.monotonic()
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "-n", workers, f"--connector-deadline={DEADLINE}",
        f"--connector-report={tmp_path / 'report'}",
        "-k", " or ".join([*CLAUSES, *(f"{name}-{TOURED}" for name in LITTER)]),
        *(f"--connector=broken.crashes.{name}" for name in connectors), timeout=RUN_BOUND)
    took = time.monotonic() - began
    output = result.outlines + result.errlines
    assert result.ret not in (0, None), f"{took:.0f} s\n" + "\n".join(output[-60:])
    assert len(output) < MAX_LINES, "\n".join(output)

    report = json.loads((tmp_path / "report.json").read_text())
    rows = {(row["connector"], row["clause"]): row for row in report["results"]}
    for name in connectors:
        assert set(CLAUSES) <= {clause for (connector, clause) in rows if connector == name}, name

    text = "\n".join(output) + json.dumps(report)
    for name, how in KILLERS.items():
        crashed = [clause for (connector, clause), row in rows.items() if connector == name
                   and row["status"] == "CRASHED"]
        assert crashed, f"{name}: {[(c, r['status']) for (n, c), r in rows.items() if n == name]}"
        assert rows[(name, "STRUCT-SIGNATURES")]["status"] == "PASS", name
        assert how in text, name
    assert rows[("ExitsInGet", "DELETE-TWICE")]["status"] == "BLOCKED"  # needs the step the host died in
    assert rows[("ExitsInDelete", "DELETE-TWICE")]["status"] == "CRASHED"
    assert "during the setup probe's LIFECYCLE step of PHASE-ACCEPTED" in text
    assert "during the clause of DELETE-TWICE" in text
    assert 'crashes.py", line' in text  # the stack of a segfault, or of a thread holding the GIL
    for name in CLEAN:
        statuses = {clause: row["status"] for (connector, clause), row in rows.items() if connector == name}
        assert set(statuses.values()) == {"PASS"}, (name, statuses)
    for name in LITTER:
        assert rows[(name, "HYGIENE")]["status"] == "WARN", rows[(name, "HYGIENE")]
    assert "runs in the suite's own process" in text  # Unsendable's note

    recorded = {int(line) for line in pids.read_text().split()}
    assert recorded and not [pid for pid in recorded if _alive(pid)], "processes left running"
    left = sorted(p.name for p in temp.iterdir() if not p.name.startswith("pytest-of-"))  # pytest's own, kept by design
    assert all(name.startswith("conformance-crash-") and name.endswith(".log") and name in text for name in left), left


def test_check_connector_runs_connector_code_in_the_host_unless_told_otherwise(monkeypatch, tmp_path: Path) -> None:
    from broken.crashes import Steady

    from conformance import ConformanceConfig, Subject, check_connector
    from conformance.clause import all_clauses
    from fake_backends import serve_jobs

    pids = tmp_path / "pids"
    monkeypatch.setenv("CONFORMANCE_PID_FILE", str(pids))  # the environment travels with each request
    clauses = [c for c in all_clauses() if c.id == "PHASE-ACCEPTED"]
    with serve_jobs(default_outputs={"y": 1}) as backend:
        subject = Subject("Steady", lambda: Steady(base_url=backend.url), backend=backend)
        hosted = check_connector(subject, ConformanceConfig(), clauses)
        hosted_pids = set(pids.read_text().split())
        here = check_connector(subject, ConformanceConfig(isolation="none"), clauses)
    assert hosted.passed and here.passed, [r.message for r in hosted.results + here.results]
    assert str(os.getpid()) not in hosted_pids
    assert str(os.getpid()) in set(pids.read_text().split()) - hosted_pids


def test_a_memory_limit_that_cannot_apply_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--connector=conformance.reference.ReferenceConnector",
                                "--connector-isolation=none", "--connector-memory-limit=1024")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*memory_limit*isolation=none*"])


def test_the_host_ends_itself_and_its_group_when_its_parent_dies(tmp_path: Path) -> None:
    """A parent killed outright runs no atexit: the child notices, removes the run directory, and ends."""
    script = ("import os, sys; from conformance import host; from conformance.config import ConformanceConfig; "
              "host.prestart(ConformanceConfig()); h = host._hosts; "
              "print(h.host.child.pid, h.run_dir, flush=True); os._exit(0)")
    orphan = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, TMPDIR=str(tmp_path)))
    pid, run_dir = orphan.stdout.split()
    deadline = time.monotonic() + 30
    while _alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(int(pid)) and not os.path.exists(run_dir)
