"""Hypothesis strategies for a connector's ``metadata_type``, built from its type hints.

A connector's metadata is whatever it needs to find a remote job again, so its
``encode``/``decode`` must survive every value the declared types allow. We derive
the strategy from the hints rather than asking for examples because the values
that break encoders (huge ints, NaN, astral characters, aware datetimes, tuples)
are exactly the ones hand-written examples forget.

Types we cannot generate are reported, never skipped: a silently unfuzzed field
would turn "not tested" into "passed".
"""

from __future__ import annotations

import collections
import collections.abc
import dataclasses
import datetime
import enum
import types
import typing
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

__all__ = [
    "MAX_SELF_NESTING",
    "MAX_SIZE",
    "MAX_TEXT_SIZE",
    "MetadataStrategy",
    "UnsupportedType",
    "metadata_strategy",
]

# Metadata is a handle to a remote job, not a payload: small values keep each
# example fast while still hitting every branch of an encoder.
MAX_SIZE = 5
MAX_TEXT_SIZE = 20
MAX_SELF_NESTING = 3  # levels of a self-referential dataclass inside itself

_SURROGATES = "".join(map(chr, range(0xD800, 0xE000)))
# Every code point UTF-8 can encode, as st.text() draws by default (same examples from the same seed),
# but given as a range: the default alphabet first builds a per-directory table by encoding all 1.1M
# code points, about 3 s of a fresh checkout's (or CI machine's) first run.
_TEXT = st.text(st.characters(exclude_categories=(), exclude_characters=_SURROGATES), max_size=MAX_TEXT_SIZE)
_INTEGERS = st.integers()  # unbounded: reaches past 64 bits, which int64 fields and JS parsers cannot hold
_FLOATS = st.floats()  # includes NaN, +-inf and -0.0
# Fixed offsets rather than st.timezones(): they need no tz database and are the
# zones an ISO-8601 string can represent.
_FIXED_OFFSETS = st.builds(
    datetime.timezone,
    st.timedeltas(
        min_value=-datetime.timedelta(hours=23, minutes=59),
        max_value=datetime.timedelta(hours=23, minutes=59),
    ),
)
_JSON_SCALARS = st.none() | st.booleans() | _INTEGERS | _FLOATS | _TEXT
# `Any` carries no type information, so the only values we can fairly demand an
# encoder keep are the ones every serialiser is expected to handle: JSON-like
# data. Arbitrary objects would only produce failures nobody could fix.
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda children: st.lists(children, max_size=MAX_SIZE)
    | st.dictionaries(_TEXT, children, max_size=MAX_SIZE),
    max_leaves=MAX_SIZE,
)

# Types whose strategy does not depend on type parameters; bare containers
# (no parameters) get JSON-like elements for the same reason as `Any`.
_FIXED: dict[Any, SearchStrategy] = {
    type(None): st.none(),
    bool: st.booleans(),
    int: _INTEGERS,
    float: _FLOATS,
    str: _TEXT,
    bytes: st.binary(max_size=MAX_TEXT_SIZE),
    datetime.datetime: st.datetimes(timezones=st.none() | _FIXED_OFFSETS),
    datetime.date: st.dates(),
    datetime.timedelta: st.timedeltas(),
    Any: _JSON,
    list: st.lists(_JSON, max_size=MAX_SIZE),
    tuple: st.lists(_JSON, max_size=MAX_SIZE).map(tuple),
    dict: st.dictionaries(_TEXT, _JSON, max_size=MAX_SIZE),
    set: st.sets(_JSON_SCALARS, max_size=MAX_SIZE),
    frozenset: st.frozensets(_JSON_SCALARS, max_size=MAX_SIZE),
}

# A field typed with an abstract collection still needs a concrete value; the
# builtin is what a decoder would most plausibly produce.
_CONCRETE: dict[Any, type] = {
    collections.abc.Sequence: list,
    collections.abc.MutableSequence: list,
    collections.abc.Mapping: dict,
    collections.abc.MutableMapping: dict,
    collections.abc.Set: set,
    collections.abc.MutableSet: set,
}

_ELEMENTWISE: dict[type, typing.Callable[..., SearchStrategy]] = {
    list: st.lists,
    set: st.sets,
    frozenset: st.frozensets,
}

_UNION_ORIGINS = (typing.Union, getattr(types, "UnionType", typing.Union))
# Python 3.11 reports no arguments for both `tuple[()]` and bare `Tuple`, so the
# empty tuple has to be recognised by equality with its spellings.
_EMPTY_TUPLES = (typing.Tuple[()], tuple[()])


@dataclass(frozen=True)
class UnsupportedType:
    """A field the fuzzer could not generate, so the caller can say what went untested."""

    path: str
    annotation: str
    reason: str


@dataclass(frozen=True)
class MetadataStrategy:
    """The strategy plus what it had to leave out; callers must report ``unsupported`` and ``rejected``."""

    strategy: SearchStrategy
    unsupported: tuple[UnsupportedType, ...]
    rejected: dict[str, UnsupportedType] = dataclasses.field(default_factory=dict)
    """Dataclasses whose constructor refused values drawn from their type hints (a ``__post_init__`` that
    validates more than the hints say), by path; filled while examples are drawn. Those draws are
    rejected, not reported as a connector failure."""


def metadata_strategy(cls: type, extra: Optional[Mapping[type, SearchStrategy]] = None) -> MetadataStrategy:
    """Build a strategy for instances of the dataclass ``cls``.

    ``extra`` maps exact types to strategies and wins over the built-in rules, so a
    connector can cover its own types (``extra={MyId: st.from_type(MyId)}`` reuses
    anything registered with ``st.register_type_strategy``). An unsupported field
    falls back to its default so the rest still fuzzes; with no default the whole
    strategy is ``st.nothing()``.
    """
    resolver = _Resolver(extra or {})
    strategy = resolver.try_resolve(cls, "meta")
    return MetadataStrategy(
        strategy=st.nothing() if strategy is None else strategy,
        unsupported=tuple(resolver.unsupported),
        rejected=resolver.rejected,
    )


class _Unsupported(Exception):
    """No strategy for a type; carried up to the field that declared it, which records it."""

    def __init__(self, annotation: object, reason: str) -> None:
        super().__init__(reason)
        self.annotation = _describe(annotation)
        self.reason = reason


class _Ungeneratable(Exception):
    """A nested dataclass has a required field we cannot fill; the cause is already recorded."""


class _Resolver:
    """Turns annotations into strategies, collecting what it cannot handle on the way."""

    def __init__(self, extra: Mapping[type, SearchStrategy]) -> None:
        self.extra = extra
        self.unsupported: list[UnsupportedType] = []
        self.rejected: dict[str, UnsupportedType] = {}
        # How often each dataclass encloses the one being resolved. Recursion is
        # unrolled to a fixed depth rather than tied with st.deferred because a
        # `list[Self]` field branches ~2.5 ways per level, so unbounded trees
        # overrun Hypothesis' buffer and fail its health checks.
        self._nesting: collections.Counter[type] = collections.Counter()

    def try_resolve(self, annotation: object, path: str) -> Optional[SearchStrategy]:
        """Resolve ``annotation``, or record why not and return None."""
        try:
            return self._resolve(annotation, path)
        except _Unsupported as exc:
            if not self._unrolling:  # the outermost copy of this class already reported it
                self.unsupported.append(UnsupportedType(path, exc.annotation, exc.reason))
        except _Ungeneratable:
            pass
        return None

    @property
    def _unrolling(self) -> bool:
        return any(depth > 1 for depth in self._nesting.values())

    def _resolve(self, annotation: object, path: str) -> SearchStrategy:
        override = _lookup(self.extra, annotation)
        if override is not None:
            return override
        origin = typing.get_origin(annotation)
        if origin is None:
            return self._plain(annotation, path)
        return self._generic(annotation, origin, typing.get_args(annotation), path)

    def _plain(self, annotation: object, path: str) -> SearchStrategy:
        fixed = _lookup(_FIXED, _concrete(annotation))
        if fixed is not None:
            return fixed
        supertype = getattr(annotation, "__supertype__", None)  # typing.NewType
        if supertype is not None:
            return self._resolve(supertype, path)
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return st.sampled_from(annotation)
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
            return self._dataclass(annotation, path)
        raise _Unsupported(annotation, "no strategy for this type; pass one with extra=")

    def _generic(self, annotation: object, origin: object, args: tuple, path: str) -> SearchStrategy:
        if origin is typing.Annotated:
            return self._resolve(args[0], path)
        if origin is typing.Literal:
            return st.sampled_from(args)
        if origin in _UNION_ORIGINS:
            return st.one_of([self._resolve(arg, path) for arg in args])
        if annotation in _EMPTY_TUPLES:
            return st.just(())
        if not args:  # unparameterised alias such as typing.List
            return self._plain(origin, path)
        container = _concrete(origin)
        if container is tuple:
            return self._tuple(args, path)
        if container is dict:
            return _collection(st.dictionaries, *(self._resolve(arg, path) for arg in args))
        if container in _ELEMENTWISE:
            return _collection(_ELEMENTWISE[container], self._resolve(args[0], path))
        raise _Unsupported(annotation, "no strategy for this generic type; pass one with extra=")

    def _tuple(self, args: tuple, path: str) -> SearchStrategy:
        if len(args) == 2 and args[1] is Ellipsis:
            return _collection(st.lists, self._resolve(args[0], path)).map(tuple)
        return st.tuples(*(self._resolve(arg, path) for arg in args))

    def _dataclass(self, cls: type, path: str) -> SearchStrategy:
        if self._nesting[cls] >= MAX_SELF_NESTING:
            return st.nothing()  # ends recursion: Optional -> None, list -> [], ...
        self._nesting[cls] += 1
        try:
            return st.builds(self._constructor(cls, path), **self._fields(cls, path))
        finally:
            self._nesting[cls] -= 1

    def _constructor(self, cls: type, path: str) -> typing.Callable[..., Any]:
        """``cls``, except that a draw its constructor refuses is rejected and recorded, not raised.

        flytekit's own ``Resources`` types ``cpu`` as ``Union[str, ..., tuple]`` but raises for a tuple
        that is not of length 2: the hints allow values the class does not.
        """
        rejected = self.rejected

        def construct(**kwargs: Any) -> Any:
            try:
                return cls(**kwargs)
            except Exception as exc:
                rejected.setdefault(path, UnsupportedType(path, _describe(cls), f"{cls.__name__}(...) raised "
                                                                                f"{type(exc).__name__}: {exc}"))
                reject()

        return construct

    def _fields(self, cls: type, path: str) -> dict[str, SearchStrategy]:
        """Strategies for the init fields; a field we cannot generate is left to its default."""
        hints = _type_hints(cls)
        strategies = {}
        for field in dataclasses.fields(cls):
            if not field.init:
                continue
            strategy = self.try_resolve(hints[field.name], f"{path}.{field.name}")
            if strategy is not None:
                strategies[field.name] = strategy
            elif not _has_default(field):
                raise _Ungeneratable
        return strategies


def _collection(builder: typing.Callable[..., SearchStrategy], *elements: SearchStrategy) -> SearchStrategy:
    """Call a collection strategy, allowing for elements cut off by the recursion limit.

    Hypothesis rejects ``max_size > 0`` when an element strategy is empty, but an
    empty collection is exactly how a recursive ``list[Self]`` should bottom out.
    """
    max_size = 0 if any(element.is_empty for element in elements) else MAX_SIZE
    return builder(*elements, max_size=max_size)


def _concrete(annotation: object) -> object:
    return _lookup(_CONCRETE, annotation) or annotation


def _type_hints(cls: type) -> dict[str, Any]:
    """Evaluate ``cls``'s annotations, which are strings under ``from __future__ import annotations``.

    TypeError is caught as well as NameError because PEP 604/585 syntax in a
    string annotation fails that way on Pythons too old to evaluate it.
    """
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except (NameError, TypeError) as exc:
        raise _Unsupported(cls, f"cannot resolve type hints: {exc}") from exc


def _has_default(field: dataclasses.Field) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def _lookup(table: Mapping[Any, Any], annotation: object) -> Any:
    """``table.get`` that tolerates unhashable annotations such as ``Annotated[int, {}]``."""
    try:
        return table.get(annotation)
    except TypeError:
        return None


def _describe(annotation: object) -> str:
    if isinstance(annotation, type):
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return repr(annotation)
