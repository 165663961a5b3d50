"""The reference connector passes every clause, end to end through the plugin."""

from conformance.clause import all_clauses


def test_reference_connector_passes_every_clause(run_suite, tmp_path):
    run = run_suite("conformance.reference.ReferenceConnector", f"--connector-snapshots={tmp_path}")
    assert run.ret == 0, run.output
    assert run.outcomes == {c.id: "passed" for c in all_clauses()}
