"""A watchdog for the service's event loop: names the connector frame that held it (F-WIRE-4).

A heartbeat callback on the loop stamps the time every ``tick``; a watchdog thread checks the stamp. When
the beat is late by more than the threshold, the loop thread's stack (``sys._current_frames()``) shows
what is running instead of the loop. Only stalls with connector code on that stack count, seen at the
same line by two consecutive samples, so a machine that deschedules the process, the GIL held by a
worker thread, flytekit or gRPC work, and the one-off cost of an import are never blamed on the connector.
On Linux a stall also needs the loop thread to have used the CPU for the threshold since its last beat,
or to be blocked (not runnable): a runnable thread that barely ran was waiting for a CPU, not holding
the loop (a saturated machine reported 700 ms stalls in a 4 ms TLS handshake).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from conformance.guards.frames import ConnectorCode, StackEntry, describe, importing, stack_of

TICK = 0.01
"""Seconds between heartbeats and between watchdog samples."""


@dataclass
class Stall:
    """The loop did not run for ``seconds`` while the connector was at ``frame``."""

    frame: StackEntry
    seconds: float
    held: float = 0.0
    """Of ``seconds``, the time connector code itself held the loop: all of it while the loop thread sleeps or
    blocks, its CPU time while it is runnable (the rest it waited for a CPU); ``seconds`` where the kernel
    cannot tell. What the probe bounds, so a saturated machine never makes a correct connector look slow."""

    def __str__(self) -> str:
        return f"the loop stalled {self.seconds * 1000:.0f} ms at {describe(self.frame)}"


@dataclass
class _Sighting:
    """A late heartbeat seen with the loop in connector code: ``stamp`` identifies the stall."""

    stamp: float
    frame: StackEntry
    stall: Stall | None = None

    def same_place(self, stamp: float, frame: StackEntry) -> bool:
        """Same stall, same connector function (a busy loop moves between lines)."""
        return stamp == self.stamp and (frame[0], frame[2]) == (self.frame[0], self.frame[2])


@dataclass
class _Recording:
    code: ConnectorCode
    threshold: float
    stalls: list[Stall]


class LoopWatch:
    """Heartbeat on ``loop`` plus a daemon watchdog thread; records stalls while a recording is open."""

    def __init__(self, loop: asyncio.AbstractEventLoop, loop_thread: threading.Thread):
        if loop_thread.ident is None:
            raise ValueError("the loop thread must be running before it is watched")
        self._loop = loop
        self._loop_thread = loop_thread
        self._loop_ident: int = loop_thread.ident
        self._last_beat = time.monotonic()
        self._beat_cpu = 0.0
        """The loop thread's CPU time at its last beat (``time.thread_time`` there)."""
        self._recording: _Recording | None = None
        self._exempt = 0
        self._seen: _Sighting | None = None
        self._stop = threading.Event()
        loop.call_soon_threadsafe(self._beat)
        self._thread = threading.Thread(target=self._watch, name="connector-service-watchdog", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        self._last_beat = time.monotonic()
        self._beat_cpu = time.thread_time()
        if not self._stop.is_set():
            self._loop.call_later(TICK, self._beat)

    @contextlib.contextmanager
    def recording(self, code: ConnectorCode, threshold: float) -> Iterator[list[Stall]]:
        """Record the stalls over ``threshold`` seconds caused by ``code`` until the block ends."""
        stalls: list[Stall] = []
        outer, self._recording = self._recording, _Recording(code, threshold, stalls)
        try:
            yield stalls
        finally:
            self._recording = outer  # the guard tour records each clause inside a guard clause's recording

    @property
    def loop_thread_id(self) -> int:
        return self._loop_ident

    @property
    def exempted(self) -> bool:
        """Harness work the platform does elsewhere is running on the loop (see :meth:`exempt`)."""
        return self._exempt > 0

    @contextlib.contextmanager
    def exempt(self) -> Iterator[None]:
        """Harness work on the loop that the platform does elsewhere (constructing the connector)."""
        self._exempt += 1
        try:
            yield
        finally:
            self._exempt -= 1

    def _watch(self) -> None:
        while not self._stop.wait(TICK):
            recording = self._recording
            if recording is None or self._exempt:
                self._seen = None
                continue
            self._sample(recording)

    def _sample(self, recording: _Recording) -> None:
        stamp = self._last_beat
        late = time.monotonic() - stamp - TICK
        if late <= recording.threshold:
            self._seen = None
            return
        stack = stack_of(sys._current_frames().get(self._loop_ident))
        frame = None if importing(stack) else recording.code.innermost(stack)
        seen = self._seen
        if frame is None or seen is None or not seen.same_place(stamp, frame):
            self._seen = _Sighting(stamp, frame) if frame is not None else None
            return
        held = self._held(late)
        if seen.stall is None and held < recording.threshold:
            return  # runnable but barely ran: waiting for a CPU; not confirmed yet, the next sample looks again
        if seen.stall is None:  # a second sample in the same place: a confirmed stall
            seen.stall = Stall(frame, late)
            recording.stalls.append(seen.stall)
        seen.stall.frame, seen.stall.seconds = frame, late
        seen.stall.held = max(seen.stall.held, held)

    def _held(self, late: float) -> float:
        """How much of ``late`` the loop thread held the loop: all of it unless it is runnable, then its CPU
        time since the last beat (a runnable thread that barely ran was waiting for a CPU)."""
        thread = self._loop_thread
        try:
            used = time.clock_gettime(time.pthread_getcpuclockid(self._loop_ident)) - self._beat_cpu
            with open(f"/proc/self/task/{thread.native_id}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except (AttributeError, OSError, ValueError, IndexError):
            return late  # no per-thread clock or /proc: judge by the samples alone, as before
        return used if state == "R" else late

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
