"""Tests for conformance.roundtrip.first_difference."""

from __future__ import annotations

import copy
import datetime
import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import pytest
from flytekit.extend.backend.base_connector import ResourceMeta
from hypothesis import HealthCheck, given, settings

from conformance.metadata_strategies import metadata_strategy
from conformance.roundtrip import first_difference

NAN = float("nan")
UTC = datetime.timezone.utc
PLUS_ONE = datetime.timezone(datetime.timedelta(hours=1))


class Colour(enum.Enum):
    RED = 1
    GREEN = 2


class Level(enum.IntEnum):
    LOW = 1


@dataclass
class Inner:
    x: int


@dataclass
class Outer:
    inner: Inner
    tags: List[str] = field(default_factory=list)


@dataclass
class Derived:
    base: int
    cached: int = field(init=False, default=0)


@dataclass
class TupleMeta(ResourceMeta):
    job_id: str
    items: Tuple[int, int]


@dataclass
class FuzzedMeta:
    job_id: str
    attempts: Tuple[int, ...]
    labels: Dict[str, float]
    when: Optional[datetime.datetime]
    colour: Colour
    inner: Optional[Inner]
    extra: Any


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        10**30,
        -0.0,
        NAN,
        float("inf"),
        "",
        "\U0001f600",
        b"\x00",
        (1, "a"),
        [NAN, [NAN]],
        {"k": NAN},
        {NAN},
        frozenset({1, 2}),
        Colour.RED,
        datetime.datetime(2024, 1, 1, tzinfo=PLUS_ONE),
        datetime.date(2024, 1, 1),
        Outer(Inner(1), ["a"]),
    ],
    ids=repr,
)
def test_exact_copies_have_no_difference(value: object) -> None:
    assert first_difference(value, copy.deepcopy(value)) is None


@pytest.mark.parametrize(
    "expected, actual, message",
    [
        ((1, 2), [1, 2], "meta: expected tuple (1, 2), got list [1, 2]"),
        (1, True, "meta: expected int 1, got bool True"),
        (1, 1.0, "meta: expected int 1, got float 1.0"),
        (1, None, "meta: expected int 1, got None"),
        (-0.0, 0.0, "meta: expected -0.0, got 0.0"),
        (NAN, 1.0, "meta: expected nan, got 1.0"),
        (Colour.RED, Colour.GREEN, "meta: expected <Colour.RED: 1>, got <Colour.GREEN: 2>"),
        (Level.LOW, 1, "meta: expected Level <Level.LOW: 1>, got int 1"),
        (
            datetime.datetime(2024, 1, 1),
            "2024-01-01T00:00:00",
            "meta: expected datetime.datetime(2024, 1, 1, 0, 0), got str '2024-01-01T00:00:00'",
        ),
    ],
    ids=repr,
)
def test_scalar_differences(expected: object, actual: object, message: str) -> None:
    assert first_difference(expected, actual) == message


def test_nested_dataclass_decoded_as_dict() -> None:
    assert (
        first_difference(Outer(Inner(1)), Outer({"x": 1}))  # type: ignore[arg-type]
        == "meta.inner: expected Inner(x=1), got dict {'x': 1}"
    )


def test_difference_inside_a_nested_dataclass_names_the_full_path() -> None:
    assert first_difference(Outer(Inner(1)), Outer(Inner(2))) == "meta.inner.x: expected 1, got 2"


def test_fields_outside_init_are_compared() -> None:
    changed = Derived(1)
    changed.cached = 5
    assert first_difference(Derived(1), changed) == "meta.cached: expected 0, got 5"


def test_sequence_element_path() -> None:
    assert first_difference(["a", "b", "b"], ["a", "b", "c"], "meta.tags") == "meta.tags[2]: expected 'b', got 'c'"


def test_sequence_length() -> None:
    assert first_difference((1, 2, 3), (1, 2)) == "meta: expected 3 items, got 2 items"


@pytest.mark.parametrize(
    "expected, actual, message",
    [
        ({"x": 1}, {}, "meta: missing key 'x'"),
        ({}, {"y": 1}, "meta: unexpected key 'y'"),
        ({"x": 1}, {"x": 2}, "meta['x']: expected 1, got 2"),
        ({1: "a"}, {"1": "a"}, "meta: missing key 1"),  # JSON turns int keys into strings
        ({1: "a"}, {1.0: "a"}, "meta: missing key 1"),  # equal under hashing, yet a different type
    ],
    ids=repr,
)
def test_mapping_differences(expected: dict, actual: dict, message: str) -> None:
    assert first_difference(expected, actual) == message


@pytest.mark.parametrize(
    "expected, actual, message",
    [
        ({1, 2}, {1}, "meta: missing element 2"),
        ({1}, {1, 2}, "meta: unexpected element 2"),
        ({1}, {1.0}, "meta: missing element 1"),
        ({NAN, float("nan")}, {NAN, 1.0}, "meta: missing element nan"),
        (frozenset({1}), {1}, "meta: expected frozenset({1}), got set {1}"),
    ],  # no ids=repr: a set's repr depends on the process (nan hashes by identity); conftest gives stable ids
)
def test_set_differences(expected: set, actual: set, message: str) -> None:
    assert first_difference(expected, actual) == message


def test_naive_and_aware_datetimes_differ() -> None:
    message = first_difference(datetime.datetime(2024, 1, 1, tzinfo=UTC), datetime.datetime(2024, 1, 1))
    assert message is not None
    assert message.startswith("meta: expected aware datetime ")
    assert ", got naive datetime " in message


def test_datetimes_compare_by_instant() -> None:
    noon_in_paris = datetime.datetime(2024, 1, 1, 12, tzinfo=PLUS_ONE)
    assert first_difference(noon_in_paris, noon_in_paris.astimezone(UTC)) is None
    assert first_difference(noon_in_paris, noon_in_paris.replace(tzinfo=UTC)) is not None


def test_long_reprs_are_truncated() -> None:
    message = first_difference(list(range(100)), tuple(range(100)))
    assert message is not None
    assert len(message) < 200
    assert "..." in message


def test_default_resource_meta_json_turns_tuples_into_lists() -> None:
    meta = TupleMeta(job_id="j-1", items=(1, 2))
    decoded = TupleMeta.decode(meta.encode())
    assert decoded == TupleMeta(job_id="j-1", items=[1, 2])  # type: ignore[arg-type] # `==` is fooled
    assert first_difference(meta, decoded) == "meta.items: expected tuple (1, 2), got list [1, 2]"


@settings(max_examples=30, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(metadata_strategy(FuzzedMeta).strategy)
def test_fuzzed_metadata_survives_a_deep_copy(meta: FuzzedMeta) -> None:
    assert first_difference(meta, copy.deepcopy(meta)) is None
