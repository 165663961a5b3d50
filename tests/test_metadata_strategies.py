"""Tests for conformance.metadata_strategies.

This module uses postponed annotations on purpose: every dataclass below has
string annotations, so each test also exercises forward-reference resolution.
"""

from __future__ import annotations

import datetime
import enum
import math
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field, make_dataclass
from operator import attrgetter
from typing import (
    AbstractSet,
    Annotated,
    Any,
    Callable,
    Dict,
    FrozenSet,
    List,
    Literal,
    Mapping,
    NewType,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypeVar,
    Union,
)

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from conformance.metadata_strategies import (
    MAX_SELF_NESTING,
    MAX_SIZE,
    MetadataStrategy,
    UnsupportedType,
    metadata_strategy,
)

FAST = settings(max_examples=25, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Reachability only needs one witness; shrinking it would dominate the run time.
FIND = settings(max_examples=2_000, database=None, deadline=None, phases=[Phase.generate])

T = TypeVar("T")
JobId = NewType("JobId", str)


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Opaque:
    """A user type the resolver knows nothing about."""

    def __init__(self, token: str = "t") -> None:
        self.token = token


@dataclass
class Early:
    later: Later  # defined below: only resolvable because annotations are postponed


@dataclass
class Later:
    value: int


@dataclass
class Inner:
    x: int
    colour: Colour


@dataclass
class Config:
    host: str
    client: socket.socket = None  # type: ignore[assignment]


@dataclass
class WithUnsupported:
    name: str
    config: Config
    callback: Callable[[int], int] = len


@dataclass
class NeedsSocket:
    sock: socket.socket


@dataclass
class OptionalNeedsSocket:
    name: str
    inner: Optional[NeedsSocket] = None


@dataclass
class Node:
    value: int
    children: List[Node] = field(default_factory=list)
    next: Optional[Node] = None
    handle: Opaque = field(default_factory=Opaque)


@dataclass
class Broken:
    missing: NotDefinedAnywhere  # noqa: F821


@dataclass
class HasBroken:
    ok: int
    broken: Optional[Broken] = None


@dataclass
class WithComputed:
    base: int
    doubled: int = field(init=False)

    def __post_init__(self) -> None:
        self.doubled = self.base * 2


@dataclass
class JobMeta:
    job_id: str
    attempts: Tuple[int, ...]
    inner: Optional[Inner] = None


def values_of(annotation: object, extra: Optional[Mapping[type, st.SearchStrategy]] = None) -> st.SearchStrategy:
    """Strategy for a single field annotated ``annotation``, asserting it is fully supported."""
    result = metadata_strategy(make_dataclass("Probe", [("value", annotation)]), extra)
    assert result.unsupported == ()
    return result.strategy.map(attrgetter("value"))


def reachable(annotation: object, condition: Callable[[Any], bool]) -> Any:
    return find(values_of(annotation), condition, settings=FIND)


def is_json_like(value: object) -> bool:
    if isinstance(value, list):
        return all(map(is_json_like, value))
    if isinstance(value, dict):
        return all(type(key) is str and is_json_like(item) for key, item in value.items())
    return value is None or type(value) in (bool, int, float, str)


def depth(node: Optional[Node]) -> int:
    if node is None:
        return 0
    return 1 + max([depth(child) for child in node.children] + [depth(node.next)])


TYPE_CHECKS = [
    (str, lambda v: type(v) is str),
    (int, lambda v: type(v) is int),
    (float, lambda v: type(v) is float),
    (bool, lambda v: type(v) is bool),
    (bytes, lambda v: type(v) is bytes),
    (type(None), lambda v: v is None),
    (datetime.datetime, lambda v: type(v) is datetime.datetime),
    (datetime.date, lambda v: type(v) is datetime.date),
    (Colour, lambda v: isinstance(v, Colour)),
    (JobId, lambda v: type(v) is str),
    (Optional[int], lambda v: v is None or type(v) is int),
    (Union[int, str], lambda v: type(v) in (int, str)),
    (Literal["a", 1], lambda v: v in ("a", 1)),
    (Annotated[int, {"unhashable": "metadata"}], lambda v: type(v) is int),
    (List[int], lambda v: type(v) is list and all(type(x) is int for x in v)),
    (Sequence[str], lambda v: type(v) is list and all(type(x) is str for x in v)),
    (Tuple[int, str], lambda v: type(v) is tuple and [type(x) for x in v] == [int, str]),
    (Tuple[int, ...], lambda v: type(v) is tuple and all(type(x) is int for x in v)),
    (Tuple[()], lambda v: v == ()),
    (Dict[str, Inner], lambda v: type(v) is dict and all(type(x) is Inner for x in v.values())),
    (Mapping[int, bool], lambda v: type(v) is dict and all(type(k) is int for k in v)),
    (Set[int], lambda v: type(v) is set),
    (AbstractSet[int], lambda v: type(v) is set),
    (FrozenSet[str], lambda v: type(v) is frozenset),
    (Inner, lambda v: type(v) is Inner and type(v.colour) is Colour),
    (Any, is_json_like),
    (list, lambda v: type(v) is list and is_json_like(v)),
    (dict, lambda v: type(v) is dict and is_json_like(v)),
    (tuple, lambda v: type(v) is tuple and is_json_like(list(v))),
    (List, lambda v: type(v) is list),
]


# One dataclass with a field per annotation: a single @given run checks them all,
# which is far cheaper than a Hypothesis run per annotation.
AllTypes = make_dataclass("AllTypes", [(f"f{i}", annotation) for i, (annotation, _) in enumerate(TYPE_CHECKS)])


def test_every_listed_type_is_supported() -> None:
    assert metadata_strategy(AllTypes).unsupported == ()


@FAST
@given(metadata_strategy(AllTypes).strategy)
def test_generates_values_of_the_declared_type(meta: Any) -> None:
    for i, (annotation, check) in enumerate(TYPE_CHECKS):
        value = getattr(meta, f"f{i}")
        assert check(value), f"{annotation!r} generated {value!r}"


@pytest.mark.parametrize(
    "annotation, condition",
    [
        (int, lambda v: v > 2**64),
        (int, lambda v: v < -(2**64)),
        (float, math.isnan),
        (float, lambda v: v == math.inf),
        (float, lambda v: v == -math.inf),
        (float, lambda v: v == 0 and math.copysign(1, v) < 0),
        (str, lambda v: any(ord(c) > 0xFFFF for c in v)),
        (str, lambda v: v == ""),
        (bytes, lambda v: len(v) > 0),
        (datetime.datetime, lambda v: v.tzinfo is not None),
        (datetime.datetime, lambda v: v.tzinfo is None),
        (Optional[Inner], lambda v: v is None),
        (Optional[Inner], lambda v: isinstance(v, Inner)),
        (Colour, lambda v: v is Colour.GREEN),
        (Tuple[int, ...], lambda v: len(v) >= 2),
        (Union[int, str], lambda v: isinstance(v, str)),
        (Any, lambda v: isinstance(v, list) and any(isinstance(x, (list, dict)) for x in v)),
        (Literal["a", 1], lambda v: v == 1),
    ],
)
def test_edge_cases_are_reachable(annotation: object, condition: Callable[[Any], bool]) -> None:
    reachable(annotation, condition)


@FAST
@given(values_of(str))
def test_text_never_contains_surrogates(text: str) -> None:
    text.encode("utf-8")


def test_text_needs_no_per_directory_unicode_table(tmp_path) -> None:
    """st.text()'s default alphabet first encodes all 1.1M code points into a table under .hypothesis/
    (seconds, on every fresh checkout); the text strategy here must not trigger that."""
    draw = ("from hypothesis import find; from conformance.metadata_strategies import metadata_strategy\n"
            "from dataclasses import dataclass\n"
            "@dataclass\nclass M:\n    s: str\n"
            "find(metadata_strategy(M).strategy, lambda m: any(ord(c) > 0xFFFF for c in m.s))")
    env = dict(os.environ, HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path))
    subprocess.run([sys.executable, "-c", draw], env=env, check=True, timeout=120)
    assert not list(tmp_path.rglob("codec-*")), sorted(p.name for p in tmp_path.rglob("*"))


@FAST
@given(values_of(Dict[str, List[int]]))
def test_collections_stay_small(value: Dict[str, List[int]]) -> None:
    assert len(value) <= MAX_SIZE
    assert all(len(items) <= MAX_SIZE for items in value.values())


def test_fully_supported_metadata_reports_nothing() -> None:
    result = metadata_strategy(JobMeta)
    assert isinstance(result, MetadataStrategy)
    assert result.unsupported == ()
    assert isinstance(find(result.strategy, lambda m: m.inner is not None, settings=FIND).inner, Inner)


def test_forward_references_resolve() -> None:
    result = metadata_strategy(Early)
    assert result.unsupported == ()
    assert type(find(result.strategy, lambda _: True, settings=FIND).later) is Later


def test_init_false_fields_are_left_to_the_class() -> None:
    meta = find(metadata_strategy(WithComputed).strategy, lambda m: m.base != 0, settings=FIND)
    assert meta.doubled == meta.base * 2


def test_unsupported_fields_are_reported_and_fall_back_to_defaults() -> None:
    result = metadata_strategy(WithUnsupported)
    assert {(u.path, u.annotation) for u in result.unsupported} == {
        ("meta.config.client", "socket.socket"),
        ("meta.callback", "typing.Callable[[int], int]"),
    }
    assert all(u.reason for u in result.unsupported)
    meta = find(result.strategy, lambda m: m.name != "", settings=FIND)
    assert meta.config.client is None
    assert meta.callback is len


def test_required_unsupported_field_makes_the_strategy_empty() -> None:
    result = metadata_strategy(NeedsSocket)
    assert result.unsupported == (UnsupportedType("meta.sock", "socket.socket", result.unsupported[0].reason),)
    assert result.strategy.is_empty


def test_ungeneratable_nested_dataclass_falls_back_to_the_enclosing_default() -> None:
    result = metadata_strategy(OptionalNeedsSocket)
    assert [u.path for u in result.unsupported] == ["meta.inner.sock"]
    assert find(result.strategy, lambda _: True, settings=FIND).inner is None


@pytest.mark.parametrize(
    "annotation, described",
    [
        (Opaque, f"{__name__}.Opaque"),
        (T, "~T"),
        (Union[int, socket.socket], "socket.socket"),  # one bad arm is reported, not dropped
        (List[Opaque], f"{__name__}.Opaque"),
    ],
)
def test_unsupported_annotations_are_named(annotation: object, described: str) -> None:
    result = metadata_strategy(make_dataclass("Probe", [("value", annotation)]))
    assert [(u.path, u.annotation) for u in result.unsupported] == [("meta.value", described)]


def test_unresolvable_hints_are_reported_not_raised() -> None:
    assert [u.path for u in metadata_strategy(Broken).unsupported] == ["meta"]
    result = metadata_strategy(HasBroken)
    [problem] = result.unsupported
    assert (problem.path, problem.annotation) == ("meta.broken", f"{__name__}.Broken")
    assert "NotDefinedAnywhere" in problem.reason
    assert find(result.strategy, lambda _: True, settings=FIND).broken is None


def test_extra_covers_user_types_anywhere_in_the_tree() -> None:
    opaque = st.builds(Opaque, st.sampled_from(["a", "b"]))
    tokens = find(values_of(List[Opaque], {Opaque: opaque}), lambda v: len(v) >= 2, settings=FIND)
    assert {o.token for o in tokens} <= {"a", "b"}


@FAST
@given(st.data())
def test_extra_overrides_builtin_rules(data) -> None:
    result = metadata_strategy(Inner, {int: st.just(7)})
    assert data.draw(result.strategy).x == 7


def test_self_referential_dataclass_terminates_at_bounded_depth() -> None:
    result = metadata_strategy(Node)
    # handle is reported once, not once per unrolled level
    assert [u.path for u in result.unsupported] == ["meta.handle"]
    deep = find(result.strategy, lambda n: depth(n) >= 2, settings=FIND)
    assert depth(deep) >= 2


@FAST
@given(metadata_strategy(Node).strategy)
def test_self_referential_dataclass_stays_within_the_nesting_limit(node: Node) -> None:
    assert depth(node) <= MAX_SELF_NESTING
