"""Every metadata clause (and META-FUZZ) can fail: a broken connector fails exactly that clause."""

from typing import List

from test_broken_structure import Case, assert_fails_exactly, broken_connector_cases

CASES: List[Case] = [
    # JobMetaV2.decode keeps old-format metas as JobMeta (a compatible upgrade), so this meta still
    # round-trips; with a plain decode, META-ROUNDTRIP would fail too (JobMeta in, JobMetaV2 out).
    ("broken.metadata.StaleCreateType", "META-CREATE-TYPE", set(), ("create() returned JobMeta",)),
    # protobuf rejects every non-bytes value for CreateTaskResponse.resource_meta, so CreateTask fails: the
    # probe finds it once, and the clauses that create through the service are BLOCKED naming this clause.
    ("broken.metadata.BytearrayEncode", "META-ENCODE-BYTES", set(), ("encode() returned bytearray",)),
    # Hypothesis draws datetimes for the field too, so META-FUZZ finds the same loss: one root cause.
    ("broken.metadata.DatetimeAsText", "META-ROUNDTRIP", {"META-FUZZ"},
     ("meta.started: expected datetime.datetime(2024, 5, 1, 12, 0), got str '2024-05-01 12:00:00'",)),
    ("broken.metadata.TupleInSequence", "META-ROUNDTRIP-EXACT", set(),
     ("meta.queues: expected tuple ('default',), got list ['default']",)),
    ("broken.metadata.ScriptInMeta", "META-SIZE", set(), ("at most 65536 bytes",)),
    ("broken.metadata.IdHandleMeta", "META-FRESH-PROCESS", set(),
     ("decoding in a fresh process failed: KeyError",)),
    ("broken.metadata.IntKeyedDict", "META-FUZZ", set(),
     ("shrunk counterexample: RetriedMeta(job_id='', submitted_at=0.0, retry_attempt=0, previous_jobs={0: ''})",
      "meta.previous_jobs: missing key 0")),
]



@broken_connector_cases(CASES)
def test_broken_connector_fails_exactly_its_clause(run_suite, connector, clause_id, cascade, evidence):
    assert_fails_exactly(run_suite(connector), clause_id, cascade, evidence)
