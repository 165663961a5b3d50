"""Every upgrade clause can fail: a broken connector fails exactly that clause."""

from typing import List

from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases

REFERENCE = "conformance.reference.ReferenceConnector"

CASES: List[Case] = [
    ("broken.upgrade.RenamedMetaField", "META-UPGRADE", set(),
     ("stored meta(s) no longer decode", "create-", "KeyError: 'id'")),
    ("broken.upgrade.StrictDecode", "META-EXTRA-FIELD", set(), ("KeyError: 'added_by_a_later_version'",)),
    ("broken.upgrade.RequiredOnDecode", "META-MISSING-FIELD", set(),
     ("decoding the create() meta without 'region' failed: KeyError: 'region'",)),
]


@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, tmp_path, connector, clause_id, cascade, evidence):
    args = []
    if clause_id == "META-UPGRADE":  # only this clause reads stored samples: seed them from the previous release
        args = [f"--connector-snapshots={tmp_path}"]
        assert run_suite(REFERENCE, *args, "-k", "META-UPGRADE or META-FUZZ").ret == 0
    assert_fails_exactly(run_suite(connector, *args), clause_id, cascade, evidence)
