"""Hygiene: the threads, child processes and sockets a connector leaves behind (stdlib only).

The connector service is one long-lived process serving every task of every connector (F-WIRE-4):
anything a call leaves running or open accumulates until threads or file descriptors run out. Sockets
and children are read from ``/proc`` (Linux); elsewhere only threads are compared.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.guards.frames import ConnectorCode, describe, stack_of

HARNESS_THREAD_PREFIXES = ("connector-service", "fake-")
"""The service loop, its watchdog and worker pool, and the fake backends' servers."""


@dataclass(frozen=True)
class Snapshot:
    threads: frozenset[threading.Thread]
    children: frozenset[int]
    sockets: frozenset[str]


def snapshot() -> Snapshot:
    threads = frozenset(t for t in threading.enumerate() if not t.name.startswith(HARNESS_THREAD_PREFIXES))
    return Snapshot(threads, _children(), _sockets())


def _children() -> frozenset[int]:
    mine = str(os.getpid())
    found = set()
    for entry in _listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            if fields[1] == mine and fields[0] != "Z":
                found.add(int(entry))
    return frozenset(found)


def _sockets() -> frozenset[str]:
    found = set()
    for fd in _listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return frozenset(found)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def leftovers(before: Snapshot, code: ConnectorCode, grace: float,
              steps: Sequence[tuple[str, Snapshot]] = ()) -> list[str]:
    """What is new since ``before`` and still there after ``grace`` seconds (closing can take a moment),
    each with the step after which it first showed (``steps``: a name and a snapshot taken after it)."""
    deadline = time.monotonic() + grace
    while True:
        found = _new_since(before, code, steps)
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def _new_since(before: Snapshot, code: ConnectorCode, steps: Sequence[tuple[str, Snapshot]]) -> list[str]:
    now = snapshot()
    frames = sys._current_frames()

    def during(kind: str, item: object) -> str:
        step = next((name for name, taken in steps if item in getattr(taken, kind)), None)
        return f" (since {step})" if step else ""

    threads = [f"thread {t.name!r} ({'daemon, ' if t.daemon else ''}at "
               f"{describe(code.innermost(stack_of(frames.get(t.ident or 0))))}){during('threads', t)}"
               for t in now.threads - before.threads if t.is_alive()]
    children = [f"child process {pid}{during('children', pid)}" for pid in sorted(now.children - before.children)]
    sockets: dict[str, int] = {}
    for sock in now.sockets - before.sockets:
        where = during("sockets", sock)
        sockets[where] = sockets.get(where, 0) + 1
    return threads + children + [f"{count} open socket(s){where}" for where, count in sockets.items()]
