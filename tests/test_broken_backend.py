"""Every fault clause can fail: a broken connector fails exactly that clause."""

from typing import List

from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases

CASES: List[Case] = [
    ("broken.backend.RaisesOnTransientErrors", "BACKEND-GET-TRANSIENT", set(),
     ("GetTask failed with INTERNAL", "HTTP 503")),
    ("broken.backend.NotFoundIsFailed", "BACKEND-INVISIBLE-AFTER-CREATE", set(),
     ("the task ended FAILED 'job job-1 not found'",)),
    # Without any key, the submit retried after a lost answer duplicates the job too: same root cause.
    ("broken.backend.NoIdempotencyKey", "BACKEND-CREATE-RETRY", {"BACKEND-NO-ORPHANS"},
     ("2 live jobs: job-1=SUBMITTED (submits=1, cancels=0), job-2=SUBMITTED (submits=1, cancels=0)",)),
    ("broken.backend.KeyIgnoresRetryAttempt", "BACKEND-RETRY-NEW-JOB", set(),
     ("1 job(s): job-1=SUBMITTED (submits=2, cancels=0)",)),
    ("broken.backend.DeleteNeverCancels", "BACKEND-ABORT-REACHES", set(),
     ("still running without a cancel: job-1=PENDING (submits=1, cancels=0)",)),
    ("broken.backend.RetriesWithoutKey", "BACKEND-NO-ORPHANS", set(), ("job-1=SUBMITTED", "job-2=SUCCEEDED")),
    ("broken.backend.UnknownStateRaises", "BACKEND-UNKNOWN-STATE-NO-ERROR", set(),
     ("GetTask failed with INTERNAL", "KeyError: 'QUARANTINED'")),
    ("broken.backend.UnknownStateUnnamed", "BACKEND-UNKNOWN-STATE", set(), ("RUNNING 'still running'",)),
]

@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector), clause_id, cascade, evidence)
