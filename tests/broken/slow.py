"""Connectors that cost time or output: hangs, blocks, huge messages, recursion, log floods.

Each is the reference connector with one change; ``tests/test_bounded_time.py`` runs them end to end and
asserts the run ends within a stated bound, with a short report naming the clause.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from conformance.reference import JobMeta, ReferenceConnector


class GetAwaitsForever(ReferenceConnector):
    """get() awaits forever (a backend call without a timeout): one deadline, not one per clause."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Any:
        await asyncio.sleep(3600)


class GetSleeps(ReferenceConnector):
    """get() calls time.sleep(5) inside async def: each call under the deadline, the loop blocked."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Any:
        time.sleep(5)
        return await super().get(resource_meta, **kwargs)


class GetWaitsOffTheLoop(ReferenceConnector):
    """Correct twin of GetSleeps: a blocking wait longer than the probe's limit, in a worker thread."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Any:
        await asyncio.to_thread(time.sleep, 3)
        return await super().get(resource_meta, **kwargs)


class CreateHangs(ReferenceConnector):
    """create() awaits forever: nothing that needs a created job can run."""

    async def create(self, **kwargs: Any) -> Any:
        await asyncio.sleep(3600)


class HugeMessage(ReferenceConnector):
    """get() raises an exception whose message is ``SIZE`` characters (a backend's whole answer)."""

    SIZE = 100_000

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Any:
        raise ValueError("backend said: " + "x" * self.SIZE)


class HugestMessage(HugeMessage):
    """The same with a 20 MB message."""

    SIZE = 20_000_000


class Recurses(ReferenceConnector):
    """get() recurses without end: a RecursionError with a thousand-frame traceback."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Any:
        return self._deeper(0)

    def _deeper(self, depth: int) -> Any:
        return self._deeper(depth + 1)


class LogsALot(ReferenceConnector):
    """Correct, but logs 200 lines per call through flytekit's logger and its own."""

    async def get(self, resource_meta: JobMeta, **kwargs: Any) -> Any:
        from flytekit import logger

        for index in range(200):
            logger.warning("polling job %s, line %d: %s", resource_meta.job_id, index, "y" * 200)
            logging.getLogger("connector.chatty").warning("chatty line %d", index)
        return await super().get(resource_meta, **kwargs)
