"""Every guard clause can fail: a broken connector fails exactly that clause."""

from typing import List

from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases

CASES: List[Case] = [
    ("broken.guards.BlocksTheLoop", "LOOP-BLOCKING", set(),
     ("the loop stalled", "guards.py", "in delete: time.sleep(STOP_WAIT)")),
    ("broken.guards.TokenInLogLink", "SECRET-CANARY", set(),
     ("secret _FSEC_JOBS_TOKEN in get() Resource.log_links", "PHASE-ACCEPTED")),
    ("broken.guards.PickledMeta", "META-NO-PICKLE", set(),
     ("encode() produced a pickle stream", "pickle.find_class('broken.guards', 'PickledJobMeta')",
      "in decode: return pickle.loads(data)")),
    ("broken.guards.Base64PickledMeta", "META-NO-PICKLE", set(),
     ("decode() unpickles a class", "in decode: return pickle.loads(base64.b64decode(data))")),
    ("broken.guards.PhonesHome", "NET-EGRESS", set(),
     ("refused connect to 203.0.113.7:443 from guards.py", "in report_usage", "META-CREATE-TYPE")),
    ("broken.guards.WatcherThreads", "HYGIENE", set(), ("thread 'watch-job-", "in _watch: time.sleep(WATCH_SECONDS)")),
]


@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector), clause_id, cascade, evidence)
