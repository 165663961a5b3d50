"""One function per benchmark; each returns plain numbers (seconds, rates) for the table and the JSON.

All of them run on 127.0.0.1 and are bounded by an explicit count; ``run.py`` repeats them and keeps
medians, because the machine is shared and single runs are noisy.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

REFERENCE = "conformance.reference.ReferenceConnector"
NOOP = "benchmarks.noop.NoopConnector"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(*args: str, cwd: str, timeout: float = 900.0) -> subprocess.CompletedProcess:
    """A child Python that can import this checkout (benchmarks is not an installed package)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    # Bytecode is cached, as for an installed package (pip compiles it): without that, every run that
    # imports an edited module recompiles it, and start-up numbers measure the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_checked(*args: str, cwd: str, failures_expected: bool = False) -> tuple[float, str, float]:
    """(wall seconds, stdout, CPU seconds) of a child that must succeed (or, with ``failures_expected``, report
    failures). CPU time counts the child and the children it waited for; on a saturated machine it stays
    near its idle value while wall time stretches with the load."""
    began, cpu = time.perf_counter(), _children_cpu()
    child = _python(*args, cwd=cwd)
    if child.returncode not in ((0, 1, 5) if failures_expected else (0, 5)):  # 5: pytest collected nothing
        raise RuntimeError(f"{' '.join(args)} exited {child.returncode}: {child.stdout[-500:]}{child.stderr[-500:]}")
    return time.perf_counter() - began, child.stdout, _children_cpu() - cpu


def _timed(*args: str, cwd: str) -> float:
    return _run_checked(*args, cwd=cwd)[0]


_SESSION_TIME = re.compile(r" in ([0-9.]+)s")


def suite_run(*pytest_args: str, connector: str = REFERENCE) -> dict[str, Any]:
    """``pytest --connector=<connector>`` from an empty directory (a user's project): wall time, start-up
    included, and the session time pytest reports (collection to the last clause). Failed clauses are
    recorded (``failed``), not raised: a connector's verdict, or the reference's on a saturated machine
    (a child that does not answer within its deadline), is not a failed measurement."""
    with tempfile.TemporaryDirectory() as empty:
        wall, out, cpu = _run_checked("-m", "pytest", f"--connector={connector}", "-q", "-p", "no:cacheprovider",
                                      *pytest_args, cwd=empty, failures_expected=True)
    return {"wall": wall, "session": float(_SESSION_TIME.findall(out)[-1]), "cpu": cpu, "failed": " failed" in out}


FLOOR = "import flytekit, pytest, hypothesis, grpc"
"""Issue #14's start-up floor for target 1: what any pytest run that loads a connector must import."""


def floor_run() -> dict[str, float]:
    """``python -c "import flytekit, pytest, hypothesis, grpc"`` from an empty directory: wall and CPU time."""
    with tempfile.TemporaryDirectory() as empty:
        wall, _, cpu = _run_checked("-c", FLOOR, cwd=empty)
    return {"wall": wall, "cpu": cpu}


_THAWED = ("import gc, sys, pytest; code = pytest.main(sys.argv[2:]); "
           "sys.argv[1] == 'thaw' and gc.unfreeze(); sys.exit(code)")


def suite_run_thawed(thaw: bool) -> dict[str, float]:
    """The reference suite through ``pytest.main``, optionally unfreezing the collector once it returns.

    ``thaw`` undoes ``conformance.exit_gc``'s freeze, so the interpreter's exit collection walks every
    object again: the pair (frozen, thawed) is the freeze's effect on target 1, all else equal.
    """
    with tempfile.TemporaryDirectory() as empty:
        wall, _, cpu = _run_checked("-c", _THAWED, "thaw" if thaw else "keep", f"--connector={REFERENCE}", "-q",
                                    "-p", "no:cacheprovider", cwd=empty, failures_expected=True)
    return {"wall": wall, "cpu": cpu}


_SUMMARY = re.compile(r"^=* ?(.*\b(?:passed|failed|error|errors)\b.*) in [0-9.]+s", re.MULTILINE)


def selftest_run(*pytest_args: str, timeout: float = 1800.0) -> dict[str, Any]:
    """The project's own tests from the checkout (``pytest tests -n auto``), wall time and pytest's summary.

    Failing tests and a timeout are recorded, not raised: the wall time is a verdict either way.
    """
    began = time.perf_counter()
    try:
        child = _python("-m", "pytest", "tests", "-p", "no:cacheprovider", *pytest_args, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"wall": time.perf_counter() - began, "summary": f"timed out after {timeout:.0f} s", "durations": ""}
    wall = time.perf_counter() - began
    if child.returncode not in (0, 1):
        raise RuntimeError(f"pytest tests exited {child.returncode}: {child.stdout[-800:]}{child.stderr[-800:]}")
    summary = _SUMMARY.findall(child.stdout)
    durations = child.stdout.split("slowest", 1)[1].split("\n\n", 1)[0] if "slowest" in child.stdout else ""
    return {"wall": wall, "summary": summary[-1] if summary else "", "durations": "slowest" + durations}


def local_executor_lifecycle(polls: int) -> dict[str, Any]:
    """flytekit's own AsyncConnectorExecutorMixin.execute on a ``polls``-poll job (see local_executor.py).

    ``process_seconds`` is the whole child, start-up included: the like-for-like partner of the suite's
    wall time, since a connector author runs the local executor as a fresh process too.
    """
    import json

    began = time.perf_counter()
    child = _python("-m", "benchmarks.local_executor", str(polls), cwd=ROOT)
    process_seconds = time.perf_counter() - began
    if child.returncode != 0:
        raise RuntimeError(f"local executor run failed: {child.stderr[-800:]}")
    return dict(json.loads(child.stdout.strip().splitlines()[-1]), process_seconds=process_seconds)


def import_flytekit_seconds() -> float:
    """A fresh interpreter that only imports flytekit: the floor under any run that loads a connector."""
    with tempfile.TemporaryDirectory() as empty:
        return _timed("-c", "import flytekit", cwd=empty)


def pytest_collect_seconds(with_plugin: bool) -> float:
    """``pytest --co`` in an empty directory: what every pytest run pays for the installed plugin."""
    disable = [] if with_plugin else ["-p", "no:connector_conformance"]
    with tempfile.TemporaryDirectory() as empty:
        return _timed("-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *disable, cwd=empty)


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")
HEAVY = ("flytekit", "grpc", "aiohttp", "hypothesis", "google.protobuf", "fake_backends")


def plugin_import() -> dict[str, Any]:
    """``python -X importtime``: what ``import conformance.plugin`` adds once pytest is loaded, and what it
    pulled in. An upper bound: a real pytest run has already imported some of it (logging, subprocess)."""
    probe = ("import sys, pytest, conformance.plugin; "
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    child = _python("-X", "importtime", "-c", probe, cwd=ROOT)
    cumulative = {m.group(3): int(m.group(2)) for m in _IMPORTTIME.finditer(child.stderr)}
    return {"plugin_import_ms": cumulative.get("conformance.plugin", 0) / 1000,
            "heavy_modules_loaded": child.stdout.strip() or "none"}


def driver_throughput(spec: str, n: int, concurrency: int, abort_share: float) -> float:
    """Lifecycles/s through Platform (one per worker thread) and the real service: load mode's own engine."""
    from conformance.load import LoadPlan, load_subject, run_load

    with load_subject(spec) as subject:
        report = run_load(subject, LoadPlan(n=n, concurrency=concurrency, abort_share=abort_share, warmup=4))
    if not report.passed:
        raise RuntimeError(f"benchmark load run failed: {report.problems()}")
    return report.throughput


def direct_lifecycle_seconds(n: int) -> float:
    """Seconds per reference lifecycle (create, sync get, polls to terminal) calling the connector in-process.

    The same work as the driver's lifecycle minus the gRPC service: the flytekit models are built once,
    as the service builds them per call, so this is the connector's own cost floor.
    """
    from flytekit.models.literals import LiteralMap
    from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

    from conformance.load import load_subject
    from conformance.platform import TERMINAL_PHASES
    from conformance.task import TaskSpec, default_inputs, default_template

    async def lifecycles(connector: Any, spec: TaskSpec) -> None:
        template, inputs = TaskTemplate.from_flyte_idl(spec.template), LiteralMap.from_flyte_idl(spec.inputs)
        for _ in range(n):
            attempt = spec.new_attempt()
            meta = await connector.create(task_template=template, inputs=inputs, output_prefix=attempt.output_prefix,
                                          task_execution_metadata=TaskExecutionMetadata.from_flyte_idl(attempt.execution))
            for _poll in range(100):
                if (await connector.get(resource_meta=meta)).phase in TERMINAL_PHASES:
                    break

    with load_subject(REFERENCE) as subject, tempfile.TemporaryDirectory() as workdir:
        connector = subject.factory()
        category = connector.task_category
        spec = TaskSpec(default_template(category.name, category.version), default_inputs(), workdir)
        asyncio.run(lifecycles(connector, spec))  # warm-up pass: first-use costs are not per lifecycle
        began = time.perf_counter()
        asyncio.run(lifecycles(connector, spec))
        return (time.perf_counter() - began) / n


def bare_grpc_cycles_per_second(n: int, concurrency: int) -> float:
    """create+get+delete cycles/s from a bare grpc.aio client, against the same service and no-op connector."""
    import grpc
    from flyteidl.admin import agent_pb2
    from flyteidl.service.agent_pb2_grpc import AsyncAgentServiceStub

    from benchmarks.noop import NoopConnector
    from conformance.service import LOOPBACK, ServiceRuntime
    from conformance.task import TaskSpec, default_inputs, default_template

    async def cycles(port: int, spec: TaskSpec) -> None:
        category = spec.category
        async with grpc.aio.insecure_channel(f"{LOOPBACK}:{port}") as channel:
            stub = AsyncAgentServiceStub(channel)

            async def worker(count: int) -> None:
                for _ in range(count):
                    attempt = spec.new_attempt()
                    created = await stub.CreateTask(agent_pb2.CreateTaskRequest(
                        template=spec.template, inputs=spec.inputs, output_prefix=attempt.output_prefix,
                        task_execution_metadata=attempt.execution), timeout=10)
                    meta = created.resource_meta
                    await stub.GetTask(agent_pb2.GetTaskRequest(
                        task_type=spec.template.type, resource_meta=meta, task_category=category), timeout=10)
                    await stub.DeleteTask(agent_pb2.DeleteTaskRequest(
                        task_type=spec.template.type, resource_meta=meta, task_category=category), timeout=10)

            await asyncio.gather(*(worker(len(range(i, n, concurrency))) for i in range(concurrency)))

    runtime = ServiceRuntime()
    try:
        runtime.install(NoopConnector())
        with tempfile.TemporaryDirectory() as workdir:
            spec = TaskSpec(default_template("benchmark_noop", 0), default_inputs(), workdir)
            asyncio.run(cycles(runtime.port, spec))  # warm-up: channel and handler first-use costs
            began = time.perf_counter()
            asyncio.run(cycles(runtime.port, spec))
            return n / (time.perf_counter() - began)
    finally:
        runtime.close()


def fuzz_examples_per_second(make_strategy: Callable[[], Any], meta_type: type, examples: int) -> dict[str, float]:
    """Strategy build time and examples/s of a hypothesis run whose body is META-FUZZ's round-trip check.

    The body does not assert: a loss would end the run early, and the cost of finding it is the same.
    """
    from hypothesis import HealthCheck, Phase, given, settings

    from conformance.roundtrip import first_difference

    began = time.perf_counter()
    strategy = make_strategy()
    built = time.perf_counter() - began
    seen: list[int] = []

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def roundtrip(meta: Any) -> None:
        seen.append(1)
        first_difference(meta, meta_type.decode(meta.encode()))

    began = time.perf_counter()
    roundtrip()
    return {"build_ms": built * 1000, "examples_per_second": len(seen) / (time.perf_counter() - began)}
