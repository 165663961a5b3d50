"""The MUST round-trip check (same data, declared types) against the SHOULD one (exact types), and the
gate's reading of --connector-fail-on."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union

import pytest

from conformance.clause import Level
from conformance.gate import Status, decide, parse_fail_on
from conformance.roundtrip import data_loss, first_difference, type_problem


@dataclasses.dataclass
class Meta:
    labels: Union[str, List[str], Tuple] = ()
    queues: Tuple[str, ...] = ()
    started: Optional[datetime.datetime] = None
    counts: Dict[str, int] = dataclasses.field(default_factory=dict)
    ratio: float = 0.0
    anything: Any = None


@pytest.mark.parametrize("original, decoded", [
    (Meta(labels=()), Meta(labels=[])),  # the case: a list still satisfies List[str]
    (Meta(labels=("a", "b")), Meta(labels=["a", "b"])),
    (Meta(ratio=1), Meta(ratio=1)),  # an int is a float as far as the hint goes (PEP 484)
    (Meta(anything=(1, 2)), Meta(anything=[1, 2])),
])
def test_same_data_of_the_declared_type_is_no_loss_but_not_exact(original: Meta, decoded: Meta) -> None:
    assert data_loss(original, decoded) is None
    if original != decoded:
        assert first_difference(original, decoded) is not None


@pytest.mark.parametrize("original, decoded, message", [
    (Meta(queues=("a",)), Meta(queues=["a"]), "meta.queues: expected a tuple, got list ['a']"),
    (Meta(started=datetime.datetime(2024, 1, 1)), Meta(started="2024-01-01 00:00:00"),
     "meta.started: expected datetime.datetime(2024, 1, 1, 0, 0), got str '2024-01-01 00:00:00'"),
    (Meta(counts={"a": 1}), Meta(counts={"a": 1.0}), "meta.counts['a']: expected int 1, got float 1.0"),
    (Meta(labels=(None,)), Meta(labels=[None]), "meta.labels: expected a value of Union[str, List[str], Tuple], "
                                                "got list [None]"),
])
def test_lost_data_or_a_type_the_hints_do_not_allow_is_loss(original: Meta, decoded: Meta, message: str) -> None:
    assert data_loss(original, decoded) == message


def test_a_meta_that_breaks_its_own_hints_is_not_held_to_them_after_decoding() -> None:
    assert data_loss(Meta(ratio="high"), Meta(ratio="high")) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("value, annotation, ok", [
    (True, float, False), ("ab", Sequence[str], True), ([1], Sequence[str], False), ((), Tuple[()], True),
    ([], Tuple, False), (1, Literal[1, 2], True), (3, Literal[1, 2], False), ("x", Optional[int], False),
    ({"a": [1]}, Dict[str, List[int]], True), (object(), Any, True),
])
def test_type_problem(value: object, annotation: object, ok: bool) -> None:
    assert (type_problem(value, annotation) is None) is ok


@pytest.mark.parametrize("value, levels", [
    ("MUST", {Level.MUST}), ("must , should", {Level.MUST, Level.SHOULD}), ("SHOULD", {Level.MUST, Level.SHOULD}),
    ("none", set()), ("NONE", set()),
])
def test_fail_on_always_includes_must_unless_none(value: str, levels: set) -> None:
    assert parse_fail_on(value) == levels


@pytest.mark.parametrize("value", ["", ",", "MAY", "none,MUST", "MUST;SHOULD"])
def test_bad_fail_on_names_the_valid_values(value: str) -> None:
    with pytest.raises(ValueError, match=r"use MUST \(the default\), MUST,SHOULD \(strict"):
        parse_fail_on(value)


@pytest.mark.parametrize("outcome, status", [("BLOCKED", Status.BLOCKED), ("ERROR", Status.ERROR),
                                             ("SKIP", Status.SKIP)])
def test_blocked_and_error_pass_through_the_gate_whatever_the_waiver(outcome: str, status: Status) -> None:
    assert decide(outcome, Level.MUST, "waived", frozenset({Level.MUST})) is status
    assert status.fails_run is (status is Status.ERROR)
