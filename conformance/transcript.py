"""What the platform said to the connector and what came back, shown when a clause fails."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Entry:
    at: float
    call: str
    outcome: str
    took: float


@dataclass
class Transcript:
    started: float = field(default_factory=time.perf_counter)
    entries: list[Entry] = field(default_factory=list)

    def record(self, call: str, outcome: str, began: float) -> None:
        now = time.perf_counter()
        self.entries.append(Entry(began - self.started, call, outcome, now - began))

    def render(self, limit: int = 40) -> str:
        """Most recent calls last; a long poll loop is cut in the middle, not at the end."""
        lines = [f"  +{e.at:7.3f}s  {e.call:<22} -> {e.outcome}  ({e.took * 1000:.1f} ms)" for e in self.entries]
        if len(lines) > limit:
            half = limit // 2
            lines = lines[:half] + [f"  ... {len(lines) - limit} calls omitted ..."] + lines[-half:]
        return "transcript:\n" + ("\n".join(lines) if lines else "  (no calls)")
