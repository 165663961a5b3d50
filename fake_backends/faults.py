"""Armed faults and the order in which they fire.

Kept apart from any one fake so that every fake backend (the generic job
service today, fakes of real services later) arms and consumes faults with the
same rules, and a fault clause behaves the same whichever fake it runs against.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, replace

from .control import OPERATIONS

__all__ = ["FAULT_KINDS", "FOREVER", "Fault", "FaultPlan"]

#: "http": an error response; "timeout": no answer until the client gives up;
#: "reset": the connection is dropped without a response; "lost": the operation
#: takes effect, then the connection is dropped (the client cannot tell it happened).
FAULT_KINDS = ("http", "timeout", "reset", "lost")

#: ``times`` value for a fault that never recovers.
FOREVER = -1


@dataclass(frozen=True)
class Fault:
    """One armed fault; see :meth:`BackendControl.fault` for the meaning of each field.

    Validation happens here, at arming time, so that a typo in a test fails at
    the line that made it rather than as a puzzling pass later.
    """

    op: str
    kind: str = "http"
    status: int = 503
    #: Failures left before the op recovers, or :data:`FOREVER`.
    times: int = 1
    retry_after: float | None = None
    probability: float = 1.0

    def __post_init__(self) -> None:
        if self.op not in OPERATIONS:
            raise ValueError(f"unknown op {self.op!r}; expected one of {OPERATIONS}")
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be an HTTP error (400-599), not {self.status}")
        if self.times != FOREVER and self.times < 1:
            raise ValueError(f"times must be >= 1 or {FOREVER} (forever), not {self.times}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, not {self.retry_after}")
        if not 0.0 < self.probability <= 1.0:
            raise ValueError(f"probability must be in (0, 1], not {self.probability}")


class FaultPlan:
    """The faults armed per operation, consumed in the order they were armed.

    Only the oldest fault of an op is eligible, so "two 503s, then a reset"
    is armed as two calls and plays out in that order. A fault whose
    probability roll misses lets the call through without spending one of its
    ``times``. Not thread-safe: the owning fake guards it with its lock.
    """

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._armed: dict[str, deque[Fault]] = {op: deque() for op in OPERATIONS}

    def arm(self, fault: Fault) -> None:
        """Queue ``fault`` behind any fault already armed for its op."""
        self._armed[fault.op].append(fault)

    def take(self, op: str) -> Fault | None:
        """Return the fault this call of ``op`` must suffer, if any, and spend it."""
        queue = self._armed[op]
        if not queue or self._rng.random() >= queue[0].probability:
            return None
        fault = queue[0]
        if fault.times == 1:
            queue.popleft()
        elif fault.times > 1:
            queue[0] = replace(fault, times=fault.times - 1)
        return fault
