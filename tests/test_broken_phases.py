"""Every phase clause can fail: a broken connector fails exactly that clause."""

from typing import Dict, List, Tuple

from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases

CASES: List[Case] = [
    # An unaccepted phase ends the attempt (F-PHASE-2), and PHASE-ACCEPTED only sees phases of the default
    # lifecycle, which every success-dependent clause also runs. On the last state it costs only the clauses
    # that need that lifecycle to succeed.
    ("broken.phases.SucceededUndefined", "PHASE-ACCEPTED",
     {"PHASE-OUTPUTS", "BACKEND-GET-TRANSIENT", "BACKEND-INVISIBLE-AFTER-CREATE"}, ("get() answered UNDEFINED",)),
    # The setup probe's lifecycle never ends either: PHASE-TERMINATES reports it once, and every clause that
    # needs a lifecycle is BLOCKED naming it.
    ("broken.phases.SucceededStaysRunning", "PHASE-TERMINATES", set(),
     ("no terminal phase after 20 GetTask calls", "last answer: RUNNING 'succeeded'")),
    # The sync-on-create get is the first get of every lifecycle, and a failed phase ends it there: whatever
    # needs the default task to succeed fails too (outputs, surviving 503s or 404s, no live job left), and
    # the job keeps moving on the backend, so re-polls differ from the "terminal" FAILED.
    ("broken.phases.PendingFailed", "PHASE-SYNC-GET",
     {"PHASE-OUTPUTS", "PHASE-TERMINAL-STABLE", "BACKEND-GET-TRANSIENT", "BACKEND-INVISIBLE-AFTER-CREATE",
      "BACKEND-NO-ORPHANS"},
     ("first get() answered FAILED 'pending'",)),
    ("broken.phases.NoOutputs", "PHASE-OUTPUTS", set(), ("missing ['y']; found no outputs",)),
    ("broken.phases.JobsInMemory", "PHASE-TERMINAL-STABLE", set(),
     ("a fresh connector instance answered RETRYABLE_FAILED 'lost track of job",)),
    ("broken.phases.FailureWithoutMessage", "PHASE-FAILURE-MESSAGE", set(), ("answered FAILED with no message",)),
    # Protobuf turns {'uri', 'name'} dicts into TaskLog messages, so GetTask itself still works (a log link
    # the wire cannot convert would fail every lifecycle clause); flytekit's local runner reads link.name.
    ("broken.phases.LogLinksAsDicts", "PHASE-RESOURCE-SERIALIZES", set(), ("log_links holds dict",)),
]

ARGS: Dict[str, Tuple[str, ...]] = {
    "broken.phases.SucceededStaysRunning": ("--connector-max-polls=20", "--connector-budget=5"),
}
"""Extra suite options per connector: a lifecycle that never ends should give up fast."""


@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector, *ARGS.get(connector, ())), clause_id, cascade, evidence)
