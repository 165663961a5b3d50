"""Which stack frames are the connector's own code: every guard reports the line that did it.

The connector's code is every module of the classes in its MRO below flytekit's base classes, widened
to the top-level package (a connector's HTTP client usually lives next to it). The harness package
is never widened: only the bundled reference connector's module counts as connector code there.
"""

from __future__ import annotations

import linecache
import os
import sys
from collections.abc import Iterable
from types import FrameType

HARNESS_PACKAGE = __name__.split(".")[0]
_NOT_CONNECTOR_PACKAGES = frozenset({HARNESS_PACKAGE, "flytekit", "builtins", "abc", "typing"})
REFERENCE_MODULE = f"{HARNESS_PACKAGE}.reference"

StackEntry = tuple[str, int, str]
"""(file name, line number, function name) of one frame."""


class ConnectorCode:
    """The files and package directories that hold a connector class's own code."""

    def __init__(self, connector_class: type):
        self.files: set[str] = set()
        self.dirs: set[str] = set()
        for cls in connector_class.__mro__:
            self._add(sys.modules.get(cls.__module__))

    def _add(self, module) -> None:
        path = getattr(module, "__file__", None)
        if not path:
            return
        top = module.__name__.split(".")[0]
        if top in _NOT_CONNECTOR_PACKAGES and module.__name__ != REFERENCE_MODULE:
            return
        self.files.add(os.path.abspath(path))
        root_file = getattr(sys.modules.get(top), "__file__", None)
        if top != HARNESS_PACKAGE and root_file and os.path.basename(root_file) == "__init__.py":
            self.dirs.add(os.path.dirname(os.path.abspath(root_file)) + os.sep)

    def contains(self, filename: str) -> bool:
        path = os.path.abspath(filename)
        return path in self.files or any(path.startswith(d) for d in self.dirs)

    def innermost(self, stack: Iterable[StackEntry]) -> StackEntry | None:
        """The innermost frame of ``stack`` (outermost first) in connector code, if any."""
        mine = [entry for entry in stack if self.contains(entry[0])]
        return mine[-1] if mine else None


def stack_of(frame: FrameType | None) -> list[StackEntry]:
    """The stack ending at ``frame``, outermost first, without reading source (cheap enough to sample)."""
    entries: list[StackEntry] = []
    while frame is not None:
        entries.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    entries.reverse()
    return entries


def current_stack() -> list[StackEntry]:
    return stack_of(sys._getframe(1))


def importing(stack: Iterable[StackEntry]) -> bool:
    """An import is running: a one-off cost of the first call, not a defect of the code that imported."""
    return any(entry[0].startswith("<frozen importlib") for entry in stack)


def describe(entry: StackEntry | None) -> str:
    """``file.py:12 in get: time.sleep(0.3)``: where, and the line itself."""
    if entry is None:
        return "outside the connector's own frames (a task or thread it started?)"
    filename, line, function = entry
    source = linecache.getline(filename, line).strip()
    return f"{os.path.basename(filename)}:{line} in {function}" + (f": {source}" if source else "")
