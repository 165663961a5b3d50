"""Skip the interpreter-exit garbage collections after a suite-only run (issue #14, target 1).

``import flytekit`` leaves about 100k long-lived objects. The full collections at the end of a pytest
run (pytest's own two, in ``pytest_unconfigure`` and its cleanup, then the interpreter's at exit) each
walk all of them: 0.6-1 s per run on 2 cores, as much as the clauses themselves take. Here the
session's garbage is collected once, at the end of the session, with pytest's unraisable-exception
hook still installed, so finalizers still run and anything they raise is still reported; then
``gc.freeze()`` moves every survivor to the permanent generation, which later collections skip.
The cost of freezing: cycles that only become garbage while the interpreter shuts down are left to
the operating system, and their finalizers do not run.

That is acceptable only where the process is the suite's own, so it happens only:

- at the end of the outermost session: never in a nested in-process run (pytester's), which would
  freeze the host test process;
- when no paths were given (``pytest --connector=X``): with paths (``pytest --connector=X tests/``)
  the process also runs the user's own tests, and keeps the collector as it was.

Pytest-free: the plugin's hooks report sessions opening and closing.
"""

from __future__ import annotations

import gc

_open_sessions = 0
"""Pytest sessions configured and not yet unconfigured in this process: 2 or more while nested."""


def session_opened() -> None:
    global _open_sessions
    _open_sessions += 1


def session_closed(suite_only: bool) -> bool:
    """Collect once and freeze if the closing session is the outermost and ran the suite only.

    Returns whether it froze (the caller need not act on it; tests observe it).
    """
    global _open_sessions
    _open_sessions = max(0, _open_sessions - 1)
    if not suite_only or _open_sessions:
        return False
    gc.collect()
    gc.freeze()
    return True
