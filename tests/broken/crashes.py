"""Connectors that misbehave against the process they run in, each beside a correct twin.

None of them breaks a clause of the contract as such: they end, stop, or litter the connector's host
process (conformance.host). The suite must still finish within its bound, name the clause in flight,
and leave no process or temp dir behind. Each records the pids it runs in and starts in the file named
by ``$CONFORMANCE_PID_FILE``, so a test can assert they are gone.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from typing import Any

import grpc
from flytekit.extend.backend.base_connector import Resource

from conformance.reference import JobMeta, ReferenceConnector


def record(*pids: int) -> None:
    """Append pids (this process's, and any it started) to $CONFORMANCE_PID_FILE."""
    path = os.environ.get("CONFORMANCE_PID_FILE")
    if path:
        with open(path, "a") as out:
            out.write("".join(f"{pid}\n" for pid in (os.getpid(), *pids)))


class Steady(ReferenceConnector):
    """The correct twin of the process killers: the reference connector, recording where it runs."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        record()
        return await super().get(resource_meta, **kwargs)


class ExitsInGet(Steady):
    """get() ends the process with os._exit: no exception, no cleanup."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        record()
        os._exit(3)


class ExitsInDelete(Steady):
    """delete() ends the process with os._exit: the probe never calls delete(), so the clause itself crashes."""

    async def delete(self, resource_meta: JobMeta, **kwargs: Any) -> None:
        record()
        os._exit(4)


class SegfaultsInGet(Steady):
    """get() reads address 0 through ctypes: SIGSEGV."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        record()
        ctypes.string_at(0)
        raise AssertionError("unreachable")


class KillsItselfInGet(Steady):
    """get() sends its own process SIGKILL: nothing can be dumped."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        record()
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


class ClosesDescriptorsInGet(Steady):
    """get() closes every file descriptor of its process: the suite's pipe and gRPC's sockets included."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        record()
        os.closerange(0, 256)
        return await super().get(resource_meta, **kwargs)


class HoldsTheGilInGet(Steady):
    """get() runs a regular expression that backtracks for ever: native code that never releases the GIL,
    so no deadline of the suite's can fire in that process (only its parent can tell)."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        record()
        re.match(r"(a+)+$", "a" * 64 + "b")
        return await super().get(resource_meta, **kwargs)


class StopsItselfInGet(Steady):
    """get() sends its own process SIGSTOP: it neither dies nor answers."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        record()
        os.kill(os.getpid(), signal.SIGSTOP)
        return await super().get(resource_meta, **kwargs)


class Unsendable(Steady):
    """The correct twin of a subject that cannot be pickled: the test's conftest gives it a factory holding a
    lock, so it runs in the suite's own process, with a note, instead of failing every clause."""


class ReadsStdin(Steady):
    """create() reads standard input, as a forgotten debugging prompt would: it must end, not hang."""

    async def create(self, **kwargs: Any) -> JobMeta:
        record()
        sys.stdin.read()
        return await super().create(**kwargs)


class ChangesDirectory(Steady):
    """create() changes the working directory and leaves it there."""

    async def create(self, **kwargs: Any) -> JobMeta:
        record()
        os.chdir(tempfile.gettempdir())
        return await super().create(**kwargs)


class ChangesDirectoryBack(Steady):
    """The correct twin: changes the working directory and puts it back."""

    async def create(self, **kwargs: Any) -> JobMeta:
        record()
        before = os.getcwd()
        os.chdir(tempfile.gettempdir())
        try:
            return await super().create(**kwargs)
        finally:
            os.chdir(before)


_forever = threading.Event()


class LeavesThreads(Steady):
    """create() starts a non-daemon thread that never ends: an interpreter waits for it at exit."""

    async def create(self, **kwargs: Any) -> JobMeta:
        record()
        threading.Thread(target=_forever.wait, name="never-ends", daemon=False).start()
        return await super().create(**kwargs)


class JoinsThreads(Steady):
    """The correct twin: its thread ends before create() returns."""

    async def create(self, **kwargs: Any) -> JobMeta:
        record()
        done = threading.Thread(target=lambda: None)
        done.start()
        await asyncio.to_thread(done.join)
        return await super().create(**kwargs)


class LeavesChildren(Steady):
    """create() starts a child process it never waits for."""

    async def create(self, **kwargs: Any) -> JobMeta:
        child = subprocess.Popen(["sleep", "600"])
        record(child.pid)
        return await super().create(**kwargs)


class ReapsChildren(Steady):
    """The correct twin: its child process has ended before create() returns."""

    async def create(self, **kwargs: Any) -> JobMeta:
        child = await asyncio.create_subprocess_exec("true")
        record(child.pid)
        await child.wait()
        return await super().create(**kwargs)


class PatchesGlobals(Steady):
    """create() replaces asyncio.sleep and grpc.insecure_channel for everyone, and never puts them back."""

    async def create(self, **kwargs: Any) -> JobMeta:
        record()
        asyncio.sleep = _no_sleep  # type: ignore[assignment]
        grpc.insecure_channel = _no_channel
        return await super().create(**kwargs)


async def _no_sleep(delay: float, result: Any = None) -> Any:
    return result


def _no_channel(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("patched away by PatchesGlobals")
