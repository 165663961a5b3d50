"""Every clause can fail: each broken connector in tests/broken fails exactly the clause it declares it
breaks (plus the cascade it declares), and its failure report shows the declared evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
from broken import Declaration, declarations

REFERENCE = "conformance.reference.ReferenceConnector"


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case.breaks}-{case.connector.rsplit('.', 1)[-1]}")
                                  for case in declarations()])
def test_broken_connector_fails_exactly_its_clause(run_suite, failure_report, tmp_path: Path,
                                                   case: Declaration) -> None:
    args = list(case.suite_args)
    if case.breaks == "META-UPGRADE":  # only this clause reads stored samples: seed them from the previous release
        args.append(f"--connector-snapshots={tmp_path}")
        assert run_suite(REFERENCE, *args, "-k", "META-UPGRADE or META-FUZZ").ret == 0
    run = run_suite(case.connector, *args)
    assert run.failed() == {case.breaks} | case.cascade, run.output
    report = failure_report(run.output, case.breaks)
    for text in case.evidence:
        assert text in report, f"{text!r} not in the {case.breaks} failure:\n{report}"
