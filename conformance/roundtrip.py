"""Exact, type-preserving comparison of metadata before and after ``encode``/``decode``.

``==`` is too forgiving for a round-trip check: ``(1, 2) == [1, 2]`` is False but
``1 == 1.0 == True`` and ``0.0 == -0.0`` are True, and ``nan != nan`` makes a
perfect copy look broken. A connector that gets back a list where it stored a
tuple, or a float where it stored an int, has lost information even when the
values compare equal, so every level is compared by exact type first.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping, Set
from typing import Callable, Iterable, Optional

__all__ = ["first_difference"]

_MAX_REPR = 80

_Comparator = Callable[[object, object, str], Optional[str]]


def first_difference(expected: object, actual: object, path: str = "meta") -> Optional[str]:
    """Describe the first place ``actual`` is not an exact copy of ``expected``, or return None.

    The answer is one sentence starting with the path of the difference, so a
    failing round trip points at the field to fix rather than dumping two objects.
    """
    if type(expected) is not type(actual):
        return _mismatch(path, _typed(expected), _typed(actual))
    return _comparator_for(expected)(expected, actual, path)


def _comparator_for(value: object) -> _Comparator:
    # Order matters: str is a sequence, bool an int, datetime a date.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _compare_dataclasses
    if isinstance(value, Mapping):
        return _compare_mappings
    if isinstance(value, Set):
        return _compare_sets
    if isinstance(value, float):
        return _compare_floats
    if isinstance(value, datetime.datetime):
        return _compare_datetimes
    if isinstance(value, (list, tuple)):
        return _compare_sequences
    return _compare_values


def _compare_dataclasses(expected: object, actual: object, path: str) -> Optional[str]:
    # All fields, not only init ones: a field computed in __post_init__ that
    # decodes differently is still a difference the connector would see.
    return _first(
        first_difference(getattr(expected, field.name), getattr(actual, field.name), f"{path}.{field.name}")
        for field in dataclasses.fields(expected)
    )


def _compare_mappings(expected: Mapping, actual: Mapping, path: str) -> Optional[str]:
    pairs, missing, unexpected = _match(expected, actual)
    return _unmatched(path, "key", missing, unexpected) or _first(
        first_difference(expected[key], actual[copy], f"{path}[{_short(key)}]") for key, copy in pairs
    )


def _compare_sets(expected: Set, actual: Set, path: str) -> Optional[str]:
    _, missing, unexpected = _match(expected, actual)
    return _unmatched(path, "element", missing, unexpected)


def _compare_sequences(expected: tuple | list, actual: tuple | list, path: str) -> Optional[str]:
    if len(expected) != len(actual):
        return _mismatch(path, f"{len(expected)} items", f"{len(actual)} items")
    return _first(
        first_difference(item, copy, f"{path}[{index}]") for index, (item, copy) in enumerate(zip(expected, actual))
    )


def _compare_floats(expected: float, actual: float, path: str) -> Optional[str]:
    # NaN must equal NaN or no round trip could pass; the sign check catches -0.0 -> 0.0.
    both_nan = math.isnan(expected) and math.isnan(actual)
    same = expected == actual and math.copysign(1.0, expected) == math.copysign(1.0, actual)
    return None if both_nan or same else _mismatch(path, _short(expected), _short(actual))


def _compare_datetimes(expected: datetime.datetime, actual: datetime.datetime, path: str) -> Optional[str]:
    # Naive and aware datetimes never compare equal, but say so explicitly
    # because their reprs can look alike and "dropped the timezone" is the fix.
    if (expected.tzinfo is None) != (actual.tzinfo is None):
        return _mismatch(path, f"{_awareness(expected)} {_short(expected)}", f"{_awareness(actual)} {_short(actual)}")
    return _compare_values(expected, actual, path)


def _compare_values(expected: object, actual: object, path: str) -> Optional[str]:
    return None if expected == actual else _mismatch(path, _short(expected), _short(actual))


def _match(expected: Iterable, actual: Iterable) -> tuple[list[tuple[object, object]], list, list]:
    """Pair up elements by ``first_difference`` rather than by hashing.

    Hash lookup would say a decoded NaN is missing (``nan != nan``) and that
    ``1.0`` matches ``1``. Quadratic, which is fine for metadata-sized containers.
    Returns (matched pairs, unmatched expected, unmatched actual).
    """
    remaining = list(actual)
    pairs, missing = [], []
    for item in expected:
        index = next((i for i, copy in enumerate(remaining) if first_difference(item, copy) is None), None)
        if index is None:
            missing.append(item)
        else:
            pairs.append((item, remaining.pop(index)))
    return pairs, missing, remaining


def _unmatched(path: str, noun: str, missing: list, unexpected: list) -> Optional[str]:
    if missing:
        return f"{path}: missing {noun} {_short(missing[0])}"
    if unexpected:
        return f"{path}: unexpected {noun} {_short(unexpected[0])}"
    return None


def _first(differences: Iterable[Optional[str]]) -> Optional[str]:
    return next((difference for difference in differences if difference is not None), None)


def _mismatch(path: str, expected: str, actual: str) -> str:
    return f"{path}: expected {expected}, got {actual}"


def _awareness(value: datetime.datetime) -> str:
    return "naive datetime" if value.tzinfo is None else "aware datetime"


def _typed(value: object) -> str:
    """A short repr that names the type, unless the repr already does (dataclasses, datetimes)."""
    text = _short(value)
    name = type(value).__name__
    return text if value is None or text.startswith(name) else f"{name} {text}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."
