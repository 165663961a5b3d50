"""Bindings are found for exact classes, from the suite's own modules and from other distributions."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.bindings import ENTRY_POINTS, all_bindings, binding_for

THIRD_PARTY = '''
from conformance.bindings import Binding


class OwnConnector:
    pass


BINDINGS = [Binding(connector=f"{__name__}.OwnConnector", distribution="own-connector",
                    backend=lambda: None, template=lambda backend: None)]
'''


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> type:
    """A distribution on sys.path declaring a binding through the entry-point group."""
    info = tmp_path / "own_connector-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: own-connector\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINTS}]\nown = own_bindings:BINDINGS\n")
    (tmp_path / "own_bindings.py").write_text(THIRD_PARTY)
    monkeypatch.syspath_prepend(str(tmp_path))
    import own_bindings

    return own_bindings.OwnConnector


def test_a_distribution_declares_a_binding_through_the_entry_point_group(third_party: type) -> None:
    binding = binding_for(third_party)
    assert binding is not None and binding.distribution == "own-connector"


def test_a_subclass_of_a_bound_connector_is_another_connector(third_party: type) -> None:
    assert binding_for(type("Derived", (third_party,), {})) is None


def test_the_suite_ships_one_binding_per_connector_class() -> None:
    specs = [binding.connector for binding in all_bindings()]
    assert len(specs) == len(set(specs))


def test_subject_of_a_bound_class_gets_the_bindings_fake_template_inputs_and_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from conformance import bindings

    class Bound:
        def __init__(self, base_url: str = "") -> None:
            self.base_url = base_url

    binding = bindings.Binding(connector="x.Bound", distribution="x", backend=lambda: contextlib.nullcontext("fake"),
                               template=lambda backend: f"template for {backend}",
                               inputs=lambda backend: {"n": 1}, environment=lambda backend: {"URL": backend})
    monkeypatch.setattr(bindings, "binding_for", lambda cls: binding if cls is Bound else None)
    with bindings.subject_of(Bound) as subject:
        assert (subject.backend, subject.template, subject.inputs) == ("fake", "template for fake", {"n": 1})
        assert subject.environment == {"URL": "fake"} and subject.name == "Bound"
    with bindings.subject_of(Bound, build=lambda backend: Bound(base_url=backend), template="mine") as subject:
        assert subject.factory().base_url == "fake" and subject.template == "mine"


def test_check_connector_binds_a_connector_class_as_the_plugin_does() -> None:
    """The reference connector needs a fake job service and its URL: a class gets both, as with --connector."""
    from conformance import check_connector
    from conformance.clause import clause_by_id
    from conformance.reference import ReferenceConnector

    report = check_connector(ReferenceConnector, clauses=[clause_by_id("PHASE-OUTPUTS")])
    assert [(r.clause.id, r.outcome.value) for r in report.results] == [("PHASE-OUTPUTS", "PASS")]
