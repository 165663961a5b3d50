"""Connectors that pass one lifecycle at a time but fail under load: each breaks one load-mode check.

All subclass the reference connector and change one behaviour, so the other checks still pass. The
orphaning case is ``broken.backend.DeleteNeverCancels``, shared with the BACKEND-ABORT-REACHES clause.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
import time
from typing import Any, List

from flytekit.extend.backend.base_connector import Resource

from conformance.reference import JobMeta, ReferenceConnector

LEAK_BYTES = 2 * 2**20
"""Per create: large enough that a few dozen lifecycles exceed a small RSS threshold deterministically."""
HOLD_SECONDS = 0.25
"""How long the contending connectors hold their lock per call; two overlapping calls exceed a 0.4 s deadline."""

_CACHE: List[bytes] = []


class LeaksPerCreate(ReferenceConnector):
    """RSS: keeps a "debug copy" of every request in a module-level list that nothing ever trims."""

    async def create(self, *args: Any, **kwargs: Any) -> JobMeta:
        _CACHE.append(b"\x01" * LEAK_BYTES)  # written, so the pages are resident, not lazily zeroed
        return await super().create(*args, **kwargs)


class BlocksLoopUnderLock(ReferenceConnector):
    """Deadline: guards a "token refresh" with a threading.Lock and a blocking sleep inside async def,
    stalling the service's one event loop (F-WIRE-4), so calls queued behind it time out."""

    _lock = threading.Lock()

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        with self._lock:
            time.sleep(HOLD_SECONDS)
        return await super().get(resource_meta, **kwargs)


class SerializesOnAsyncLock(ReferenceConnector):
    """Deadline: holds one asyncio.Lock across a slow await, so every get() waits for all the others."""

    def __init__(self, base_url: Any = None):
        super().__init__(base_url)
        self._lock = asyncio.Lock()

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        async with self._lock:
            await asyncio.sleep(HOLD_SECONDS)
            return await super().get(resource_meta, **kwargs)


class FailsEveryFourthGet(ReferenceConnector):
    """Errors by code: raises on every fourth get() (an unhandled backend hiccup), which the service
    turns into INTERNAL (F-WIRE-5)."""

    def __init__(self, base_url: Any = None):
        super().__init__(base_url)
        self._gets = itertools.count(1)

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        if next(self._gets) % 4 == 0:
            raise RuntimeError("status endpoint hiccup")
        return await super().get(resource_meta, **kwargs)



class ExitsOnFifthGet(ReferenceConnector):
    """A crash under load: sys.exit() in get() ends the connector service (every later call fails)."""

    def __init__(self, base_url: Any = None):
        super().__init__(base_url)
        self._gets = itertools.count(1)

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Resource:
        if next(self._gets) == 5:
            sys.exit(3)
        return await super().get(resource_meta, **kwargs)
