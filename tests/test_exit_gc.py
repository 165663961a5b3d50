"""The exit-GC freeze (``conformance.exit_gc``) happens only where the process is the suite's own.

Observed as ``gc.get_freeze_count()`` after the session: in a child process that runs ``pytest.main``
(an atexit handler registered before it runs after the session, just before the interpreter's own
exit collection), and in this process for a nested pytester run. ``--co`` keeps each run to its
configure and unconfigure, which is where the decision is made.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

REFERENCE = "--connector=conformance.reference.ReferenceConnector"

PROBE = """
import atexit, gc, sys
atexit.register(lambda: print("frozen", gc.get_freeze_count()))
import pytest
pytest.main(sys.argv[1:])
"""


def frozen_at_exit(cwd: Path, *args: str) -> int:
    child = subprocess.run([sys.executable, "-c", PROBE, REFERENCE, "--co", "-q", "-p", "no:cacheprovider", *args],
                           cwd=cwd, capture_output=True, text=True, timeout=120)
    last = child.stdout.strip().splitlines()[-1]
    assert last.startswith("frozen "), child.stdout[-2000:] + child.stderr[-2000:]
    return int(last.split()[1])


@pytest.mark.parametrize("paths", [(), ("test_own.py",)], ids=["suite-only", "with-paths"])
def test_only_a_suite_only_run_freezes_at_exit(tmp_path: Path, paths: tuple[str, ...]) -> None:
    """``pytest --connector=X`` is the suite's own process; ``pytest --connector=X test_own.py`` is the user's."""
    (tmp_path / "test_own.py").write_text("def test_own():\n    pass\n")
    frozen = frozen_at_exit(tmp_path, *paths)
    assert (frozen > 0) == (not paths)


def test_a_nested_in_process_run_does_not_freeze_its_host(pytester: pytest.Pytester) -> None:
    before = gc.get_freeze_count()
    try:
        pytester.runpytest_inprocess(REFERENCE, "--co", "-q", "-p", "no:cacheprovider")
        assert gc.get_freeze_count() == before
    finally:
        if gc.get_freeze_count() != before:
            gc.unfreeze()  # do not leave the rest of this process's tests frozen
