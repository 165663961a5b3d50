"""A directory of encoded resource metas, kept across releases to catch upgrades that strand jobs (F-WIRE-1).

The platform stores each running task's meta bytes in the workflow object and hands them back to
whatever connector version is deployed next. Committing samples written by today's code and decoding
them with tomorrow's is the only way to see that break before it reaches in-flight executions.

Layout: ``<dir>/<task type>-v<version>/<source>-<sha256 prefix>.meta`` — keyed by task category
because that, not the class name, is what routes a stored meta to a connector after an upgrade.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import brief

SUFFIX = ".meta"
MAX_SAMPLES = 200
"""Per task category: fuzzing adds new samples on every randomized run, the directory must not grow forever."""


@dataclass(frozen=True)
class Sample:
    path: Path
    data: bytes


def connector_dir(root: str, connector: Any) -> Path:
    """Where the samples of this connector's task category live under ``root``."""
    category = connector.task_category
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", category.name) or "_"
    return Path(root) / f"{safe}-v{category.version}"


def stored(directory: Path) -> list[Sample]:
    """Every sample in the directory, oldest name first; half-written temp files are ignored."""
    if not directory.is_dir():
        return []
    return [Sample(path, path.read_bytes()) for path in sorted(directory.glob(f"*{SUFFIX}"))]


def record(directory: Path, source: str, samples: Iterable[bytes]) -> int:
    """Store new samples (content-addressed, so re-recording is a no-op); returns how many were added.

    Writes go through a temp file and ``os.replace`` so parallel workers never read half a sample.
    """
    directory.mkdir(parents=True, exist_ok=True)
    room = MAX_SAMPLES - len(list(directory.glob(f"*{SUFFIX}")))
    added = 0
    for data in samples:
        path = directory / f"{source}-{hashlib.sha256(data).hexdigest()[:16]}{SUFFIX}"
        if path.exists():
            continue
        if added >= room:
            break
        _write_atomically(path, data)
        added += 1
    return added


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def undecodable(samples: Iterable[Sample], decode: Callable[[bytes], object]) -> list[str]:
    """``file: error`` for every sample that ``decode`` rejects."""
    problems = []
    for sample in samples:
        try:
            decode(sample.data)
        except Exception as exc:
            problems.append(f"{sample.path}: {brief(exc)}")
    return problems
