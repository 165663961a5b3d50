"""The in-process job service: scripts, idempotency, cancel rules and every control knob."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from fake_backends import (
    OPERATIONS,
    BackendControl,
    InjectedFault,
    InvalidRequest,
    JobConflict,
    JobNotFound,
    JobService,
)


@pytest.fixture
def service() -> JobService:
    return JobService(default_outputs={"rows": 3})


def submit(service: JobService, key: str | None = None) -> str:
    return service.submit({"query": "select 1"}, {"x": 1}, key).job_id


def walk(service: JobService, job_id: str, reads: int) -> list[str]:
    return [service.status(job_id).state for _ in range(reads)]


def test_is_a_backend_control_with_no_url(service: JobService) -> None:
    assert isinstance(service, BackendControl)
    assert service.url == ""


def test_default_script_walks_to_success_with_default_outputs(service: JobService) -> None:
    job = service.submit({"query": "select 1"}, {"x": 1}, None)
    assert (job.state, job.outputs, job.terminal) == ("SUBMITTED", None, False)
    assert walk(service, job.job_id, 4) == ["PENDING", "RUNNING", "SUCCEEDED", "SUCCEEDED"]
    done = service.status(job.job_id)
    assert (done.outputs, done.terminal, done.reads) == ({"rows": 3}, True, 5)
    assert service.outputs(job.job_id) == {"rows": 3}
    assert (done.spec, done.inputs) == ({"query": "select 1"}, {"x": 1})


def test_scripts_are_consumed_first_in_first_out(service: JobService) -> None:
    service.script(["RUNNING", "FAILED"], message="out of memory")
    service.script(["SUCCEEDED"], outputs={"rows": 9})
    failing, succeeding, default = submit(service), submit(service), submit(service)
    running = service.status(failing)
    assert (running.state, running.message) == ("RUNNING", None)
    failed = service.status(failing)
    assert (failed.state, failed.message, failed.outputs) == ("FAILED", "out of memory", None)
    assert service.status(succeeding).outputs == {"rows": 9}
    assert walk(service, default, 3)[-1] == "SUCCEEDED"


def test_the_last_state_sticks_even_if_unknown_or_non_terminal(service: JobService) -> None:
    service.script(["PENDING", "QUARANTINED"], message="held for review")
    service.script(["RUNNING"])
    quarantined, forever = submit(service), submit(service)
    assert walk(service, quarantined, 5) == ["PENDING"] + ["QUARANTINED"] * 4
    assert service.status(quarantined).message == "held for review"
    assert walk(service, forever, 50) == ["RUNNING"] * 50
    assert [job.job_id for job in service.live_jobs()] == [quarantined, forever]


def test_a_terminal_state_ends_the_script(service: JobService) -> None:
    service.script(["FAILED", "RUNNING", "SUCCEEDED"], message="bad spec")
    job_id = submit(service)
    assert walk(service, job_id, 3) == ["FAILED"] * 3
    assert service.status(job_id).message == "bad spec"


def test_script_rejects_an_empty_walk(service: JobService) -> None:
    with pytest.raises(ValueError):
        service.script([])
    with pytest.raises(ValueError):
        service.script(["RUNNING", ""])


def test_a_repeated_idempotency_key_returns_the_same_job(service: JobService) -> None:
    service.script(["FAILED"])
    first = submit(service, "key-1")
    assert submit(service, "key-1") == first
    assert service.status(first).state == "FAILED"
    assert [job.submits for job in service.jobs()] == [2]
    service.script(["RUNNING"])
    other = submit(service, "key-2")
    assert other != first
    assert service.status(other).state == "RUNNING", "the repeated submit must not have popped a script"
    assert service.counters()["submit"] == 3


def test_submit_without_key_always_creates_a_job(service: JobService) -> None:
    assert len({submit(service), submit(service)}) == 2


def test_submit_rejects_malformed_arguments(service: JobService) -> None:
    with pytest.raises(InvalidRequest):
        service.submit([], {}, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        service.submit({}, {}, 7)  # type: ignore[arg-type]
    assert service.jobs() == []


def test_unknown_jobs_are_not_found(service: JobService) -> None:
    for operation in (service.status, service.cancel, service.outputs):
        with pytest.raises(JobNotFound):
            operation("job-404")


def test_cancel_goes_through_cancelling_to_cancelled(service: JobService) -> None:
    job_id = submit(service)
    walk(service, job_id, 1)
    assert service.cancel(job_id).state == "CANCELLING"
    assert service.cancel(job_id).state == "CANCELLING", "cancelling twice is fine"
    assert [job.job_id for job in service.live_jobs()] == [job_id]
    cancelled = service.status(job_id)
    assert (cancelled.state, cancelled.terminal, cancelled.cancels) == ("CANCELLED", True, 2)
    assert walk(service, job_id, 2) == ["CANCELLED"] * 2
    assert service.live_jobs() == []


def test_cancelling_a_finished_job_is_a_counted_conflict(service: JobService) -> None:
    job_id = submit(service)
    walk(service, job_id, 3)
    with pytest.raises(JobConflict, match="already finished"):
        service.cancel(job_id)
    assert service.jobs()[0].cancels == 1
    assert service.status(job_id).state == "SUCCEEDED"


def test_outputs_only_exist_for_succeeded_jobs(service: JobService) -> None:
    service.script(["RUNNING", "FAILED"])
    job_id = submit(service)
    for _ in range(2):
        service.status(job_id)
        with pytest.raises(JobConflict):
            service.outputs(job_id)


def test_http_faults_fail_n_times_then_recover_and_are_counted(service: JobService) -> None:
    service.fault("submit", status=429, times=2, retry_after=1.5)
    for _ in range(2):
        with pytest.raises(InjectedFault) as caught:
            submit(service)
        assert (caught.value.fault.status, caught.value.fault.retry_after) == (429, 1.5)
    assert service.jobs() == [], "a faulted submit must not create a job"
    submit(service)
    assert service.counters()["submit"] == 3
    assert len(service.jobs()) == 1


def test_faults_on_one_op_fire_in_arming_order(service: JobService) -> None:
    job_id = submit(service)
    service.fault("status", kind="timeout")
    service.fault("status", kind="reset")
    kinds = []
    for _ in range(2):
        with pytest.raises(InjectedFault) as caught:
            service.status(job_id)
        kinds.append(caught.value.fault.kind)
    assert kinds == ["timeout", "reset"]
    assert service.status(job_id).state == "PENDING", "faulted reads must not advance the job"


def faulted_lists(service: JobService, calls: int = 40) -> list[bool]:
    """Which of ``calls`` list calls an injected fault hit."""
    hits = []
    for _ in range(calls):
        try:
            service.list_jobs()
        except InjectedFault:
            hits.append(True)
        else:
            hits.append(False)
    return hits


def random_faults(service: JobService) -> list[bool]:
    service.fault("list", times=-1, probability=0.5)
    return faulted_lists(service)


def test_a_fault_with_times_minus_one_never_recovers(service: JobService) -> None:
    service.fault("list", times=-1)
    assert faulted_lists(service) == [True] * 40
    assert service.counters()["list"] == 40


def test_probabilistic_faults_are_random_but_replayable() -> None:
    pattern = random_faults(JobService(seed=7))
    assert pattern == random_faults(JobService(seed=7))
    assert 5 < sum(pattern) < 35
    assert pattern != random_faults(JobService(seed=8))


@pytest.mark.parametrize(
    "op, options",
    [
        ("delete", {}),
        ("submit", {"kind": "explode"}),
        ("submit", {"times": 0}),
        ("submit", {"status": 200}),
        ("submit", {"probability": 0.0}),
        ("submit", {"retry_after": -1.0}),
    ],
)
def test_fault_rejects_nonsense(service: JobService, op: str, options: dict) -> None:
    with pytest.raises(ValueError):
        service.fault(op, **options)


def test_invisible_jobs_are_not_found_for_their_first_reads(service: JobService) -> None:
    early = submit(service)
    service.invisible_for(2)
    late = submit(service)
    for _ in range(2):
        with pytest.raises(JobNotFound):
            service.status(late)
    assert service.status(late).state == "PENDING", "hidden reads must not advance the script"
    assert service.status(early).state == "PENDING"
    assert service.jobs()[1].reads == 3
    assert service.cancel(late).state == "CANCELLING", "only status reads are hidden"


def test_purge_one_job_forgets_it_and_its_key(service: JobService) -> None:
    job_id = submit(service, "key")
    service.purge(job_id)
    for operation in (service.status, service.cancel, service.outputs):
        with pytest.raises(JobNotFound):
            operation(job_id)
    assert submit(service, "key") != job_id
    with pytest.raises(JobNotFound):
        service.purge("job-404")


def test_purge_all_forgets_only_finished_jobs(service: JobService) -> None:
    service.script(["RUNNING"])
    running, finished = submit(service), submit(service)
    walk(service, running, 1)
    walk(service, finished, 3)
    service.purge()
    assert [job.job_id for job in service.jobs()] == [running]


def test_latency_is_bookkeeping_only_in_process(service: JobService) -> None:
    service.latency("status", 0.25)
    assert (service.latency_for("status"), service.latency_for("submit")) == (0.25, 0.0)
    with pytest.raises(ValueError):
        service.latency("status", -1)
    with pytest.raises(ValueError):
        service.latency("nope", 1)


def test_counters_count_every_call_per_operation(service: JobService) -> None:
    assert service.counters() == dict.fromkeys(OPERATIONS, 0)
    job_id = submit(service)
    walk(service, job_id, 3)
    service.outputs(job_id)
    service.list_jobs()
    with pytest.raises(JobConflict):
        service.cancel(job_id)
    assert service.counters() == {"submit": 1, "status": 3, "cancel": 1, "list": 1, "outputs": 1}


def test_list_jobs_does_not_advance_jobs(service: JobService) -> None:
    job_id = submit(service)
    assert [job.state for job in service.list_jobs()] == ["SUBMITTED"]
    assert service.status(job_id).state == "PENDING"


def test_snapshots_do_not_change_behind_the_callers_back(service: JobService) -> None:
    job_id = submit(service)
    before = service.jobs()[0]
    walk(service, job_id, 2)
    assert before.state == "SUBMITTED"


def test_reset_returns_to_a_clean_state_without_reusing_ids(service: JobService) -> None:
    stale = submit(service, "key")
    service.script(["FAILED"])
    service.fault("submit", times=-1)
    service.latency("status", 1.0)
    service.invisible_for(5)
    service.reset()
    assert (service.jobs(), service.counters()) == ([], dict.fromkeys(OPERATIONS, 0))
    assert service.latency_for("status") == 0.0
    fresh = submit(service, "key")
    assert fresh != stale
    assert walk(service, fresh, 3) == ["PENDING", "RUNNING", "SUCCEEDED"]
    with pytest.raises(JobNotFound):
        service.status(stale)


def test_reset_replays_the_same_random_faults() -> None:
    service = JobService(seed=3)
    first = random_faults(service)
    service.reset()
    assert random_faults(service) == first


def test_concurrent_submits_are_all_accounted_for(service: JobService) -> None:
    keys = [f"key-{i}" for i in range(200)] + ["shared"] * 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        job_ids = list(pool.map(lambda key: submit(service, key), keys))
    assert len(set(job_ids[:200])) == 200
    assert len(set(job_ids[200:])) == 1
    assert len(service.jobs()) == 201
    assert service.counters()["submit"] == 400
    assert sum(job.submits for job in service.jobs()) == 400


def test_a_lost_answer_fault_applies_the_operation_then_fails(service: JobService) -> None:
    service.fault("submit", kind="lost")
    with pytest.raises(InjectedFault):
        service.submit({}, {}, "key-1")
    assert [job.idempotency_key for job in service.jobs()] == ["key-1"]
    assert service.submit({}, {}, "key-1").submits == 2  # the retry finds the job the lost call made
