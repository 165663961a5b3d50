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
