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
import types
import typing
from collections.abc import Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["first_difference", "data_loss", "type_problem"]

_MAX_REPR = 80

# Any, not object: each comparator takes the narrower type _comparator_for picked it for.
_Comparator = Callable[[Any, Any, str, bool], Optional[str]]
_KINDS = ((list, tuple), (set, frozenset))
"""Types that are the same data to a connector that reads its meta back through its type hints."""


def first_difference(expected: object, actual: object, path: str = "meta", exact: bool = True) -> Optional[str]:
    """Describe the first place ``actual`` is not a copy of ``expected``, or return None.

    ``exact``: the same types all the way down; otherwise a list may stand for a tuple and a frozenset
    for a set (the same data). The answer is one sentence starting with the path of the difference,
    so a failing round trip points at the field to fix rather than dumping two objects.
    """
    if type(expected) is not type(actual) and (exact or not _same_kind(expected, actual)):
        return _mismatch(path, _typed(expected), _typed(actual))
    return _comparator_for(expected)(expected, actual, path, exact)


def data_loss(original: object, decoded: object) -> Optional[str]:
    """What a round trip lost: data that differs, or a value its dataclass's type hints do not allow.

    The MUST check: a tuple that comes back as a list still satisfies ``Union[List[str], Tuple]`` and
    holds the same data; only the exact-type check (a SHOULD) minds it. A meta that breaks its own
    type hints before encoding is not held to them after decoding.
    """
    difference = first_difference(original, decoded, exact=False)
    if difference is not None or type_problem(original, type(original)) is not None:
        return difference
    return type_problem(decoded, type(original))


def _same_kind(expected: object, actual: object) -> bool:
    return any(isinstance(expected, kind) and isinstance(actual, kind) for kind in _KINDS)


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


def _compare_dataclasses(expected: DataclassInstance, actual: object, path: str, exact: bool) -> Optional[str]:
    # All fields, not only init ones: a field computed in __post_init__ that
    # decodes differently is still a difference the connector would see.
    return _first(
        first_difference(getattr(expected, field.name), getattr(actual, field.name), f"{path}.{field.name}", exact)
        for field in dataclasses.fields(expected)
    )


def _compare_mappings(expected: Mapping, actual: Mapping, path: str, exact: bool) -> Optional[str]:
    pairs, missing, unexpected = _match(expected, actual, exact)
    return _unmatched(path, "key", missing, unexpected) or _first(
        first_difference(expected[key], actual[copy], f"{path}[{_short(key)}]", exact) for key, copy in pairs
    )


def _compare_sets(expected: Set, actual: Set, path: str, exact: bool) -> Optional[str]:
    _, missing, unexpected = _match(expected, actual, exact)
    return _unmatched(path, "element", missing, unexpected)


def _compare_sequences(expected: tuple | list, actual: tuple | list, path: str, exact: bool) -> Optional[str]:
    if len(expected) != len(actual):
        return _mismatch(path, f"{len(expected)} items", f"{len(actual)} items")
    return _first(first_difference(item, copy, f"{path}[{index}]", exact)
                  for index, (item, copy) in enumerate(zip(expected, actual)))


def _compare_floats(expected: float, actual: float, path: str, exact: bool) -> Optional[str]:
    # NaN must equal NaN or no round trip could pass; the sign check catches -0.0 -> 0.0.
    both_nan = math.isnan(expected) and math.isnan(actual)
    same = expected == actual and math.copysign(1.0, expected) == math.copysign(1.0, actual)
    return None if both_nan or same else _mismatch(path, _short(expected), _short(actual))


def _compare_datetimes(expected: datetime.datetime, actual: datetime.datetime, path: str,
                       exact: bool) -> Optional[str]:
    # Naive and aware datetimes never compare equal, but say so explicitly
    # because their reprs can look alike and "dropped the timezone" is the fix.
    if (expected.tzinfo is None) != (actual.tzinfo is None):
        return _mismatch(path, f"{_awareness(expected)} {_short(expected)}", f"{_awareness(actual)} {_short(actual)}")
    return _compare_values(expected, actual, path, exact)


def _compare_values(expected: object, actual: object, path: str, exact: bool) -> Optional[str]:
    return None if expected == actual else _mismatch(path, _short(expected), _short(actual))


def _match(expected: Iterable, actual: Iterable, exact: bool) -> tuple[list[tuple[object, object]], list, list]:
    """Pair up elements by ``first_difference`` rather than by hashing.

    Hash lookup would say a decoded NaN is missing (``nan != nan``) and that
    ``1.0`` matches ``1``. Quadratic, which is fine for metadata-sized containers.
    Returns (matched pairs, unmatched expected, unmatched actual).
    """
    remaining = list(actual)
    pairs, missing = [], []
    for item in expected:
        index = next((i for i, copy in enumerate(remaining) if first_difference(item, copy, exact=exact) is None),
                     None)
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


def type_problem(value: object, annotation: object, path: str = "meta") -> Optional[str]:
    """Where ``value`` does not satisfy the type ``annotation`` declares, or None.

    A decoded meta is handed to code written against its type hints; a value they do not allow (a str
    where a datetime is declared, a list for a ``Tuple[str, ...]``) is lost data even when it prints
    the same. What cannot be checked (type variables, forward references, unknown generics) passes:
    this check must never be a false alarm.
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return type_problem(value, typing.get_args(annotation)[0], path)
    if origin in _UNIONS:
        options = typing.get_args(annotation)
        if any(type_problem(value, option, path) is None for option in options):
            return None
        return _mismatch(path, f"a value of {_named(annotation)}", _typed(value))
    if origin is typing.Literal:
        return None if value in typing.get_args(annotation) else _mismatch(path, _named(annotation), _short(value))
    if origin is not None:
        return _generic_problem(value, origin, typing.get_args(annotation), path)
    return _plain_problem(value, annotation, path)


_UNIONS = (typing.Union, getattr(types, "UnionType", typing.Union))


def _plain_problem(value: object, annotation: object, path: str) -> Optional[str]:
    if annotation is None or annotation is type(None):
        return None if value is None else _mismatch(path, "None", _typed(value))
    supertype = getattr(annotation, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return type_problem(value, supertype, path)
    if not isinstance(annotation, type) or annotation in (object, typing.Any):
        return None  # Any, a TypeVar, a forward reference: nothing to hold the value to
    allowed = (int, float) if annotation is float else (int, float, complex) if annotation is complex else annotation
    try:
        wrong = not isinstance(value, allowed) or (annotation in (float, complex) and isinstance(value, bool))
    except TypeError:  # a protocol or special form isinstance() refuses
        return None
    if wrong:
        return _mismatch(path, f"a {_named(annotation)}", _typed(value))
    return _dataclass_problem(value, annotation, path) if dataclasses.is_dataclass(annotation) else None


def _dataclass_problem(value: object, cls: type, path: str) -> Optional[str]:
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:  # hints that do not resolve here cannot be checked here
        return None
    return _first(type_problem(getattr(value, field.name), hints[field.name], f"{path}.{field.name}")
                  for field in dataclasses.fields(cls) if field.name in hints and hasattr(value, field.name))


def _generic_problem(value: object, origin: object, args: tuple, path: str) -> Optional[str]:
    problem = _plain_problem(value, origin, path)
    if problem is not None or not isinstance(origin, type) or not isinstance(value, origin):
        return problem
    if not args:
        return None
    # value is an origin instance (checked above); the isinstance checks repeat that for the type checker.
    if issubclass(origin, tuple) and isinstance(value, tuple):
        return _tuple_problem(value, args, path)
    if issubclass(origin, Mapping) and isinstance(value, Mapping) and len(args) == 2:
        return _first(type_problem(key, args[0], f"{path} key") or type_problem(item, args[1], f"{path}[{_short(key)}]")
                      for key, item in value.items())
    if (issubclass(origin, (Sequence, Set)) and isinstance(value, (Sequence, Set))
            and not isinstance(value, (str, bytes))):
        return _first(type_problem(item, args[0], f"{path}[{index}]") for index, item in enumerate(value))
    return None


def _tuple_problem(value: tuple, args: tuple, path: str) -> Optional[str]:
    if len(args) == 2 and args[1] is Ellipsis:
        return _first(type_problem(item, args[0], f"{path}[{index}]") for index, item in enumerate(value))
    if args == ((),):
        args = ()
    if len(value) != len(args):
        return _mismatch(path, f"{len(args)} items", f"{len(value)} items")
    return _first(type_problem(item, arg, f"{path}[{index}]") for index, (item, arg) in enumerate(zip(value, args)))


def _named(annotation: object) -> str:
    return annotation.__qualname__ if isinstance(annotation, type) else repr(annotation).replace("typing.", "")
