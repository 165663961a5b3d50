"""``python -m benchmarks``: every benchmark of issue #7 in one run, as a table and as JSON.

Each measure is repeated and its median kept (the machine is shared; see BENCHMARKS.md for the load
at the time). ``--profile`` adds a cProfile of the whole clause suite run in-process, the tool used
to find the hot spots BENCHMARKS.md lists. Bounded: fixed counts, loopback only, about two minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from typing import Any

from benchmarks import measures

DEFAULT_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json")


@dataclass
class Row:
    """One line of the table; ``ok`` is None where the issue sets no target."""

    key: str
    label: str
    median: float
    samples: list[float]
    unit: str
    target: str = ""
    ok: bool | None = None


def sampled(measure: Callable[[], float], repeats: int) -> list[float]:
    return [measure() for _ in range(repeats)]


def row(key: str, label: str, samples: Sequence[float], unit: str, target: str = "",
        check: Callable[[float], bool] | None = None) -> Row:
    median = statistics.median(samples)
    return Row(key, label, median, list(samples), unit, target, None if check is None else check(median))


def ratio(key: str, label: str, top: Row, bottom: Row, target: str,
          check: Callable[[float], bool] | None) -> Row:
    """A ratio of two medians (samples are not paired, so only the medians' ratio is meaningful)."""
    value = top.median / bottom.median
    return Row(key, label, value, [value], "x", target, None if check is None else check(value))


def suite_rows(repeats: int) -> list[Row]:
    """1. The whole suite, start-up included, beside one real flytekit local-executor lifecycle.

    Also the same comparison process against process, and ``import flytekit`` alone, which every run that
    loads a connector pays before its first clause: the numbers the "< 0.5" target has to be read with.
    """
    runs = [measures.suite_run() for _ in range(repeats)]
    suite = row("suite_wall_s", "suite vs reference, wall (pytest start-up incl.)", [r["wall"] for r in runs], "s")
    session = row("suite_session_s", "  same, session time pytest reports (no start-up/exit)",
                  [r["session"] for r in runs], "s")
    local = measures.local_executor_lifecycle(polls=5)
    lifecycle = row("local_executor_lifecycle_s", f"flytekit local executor, 1 lifecycle, {local['polls']} polls",
                    [local["seconds"]], "s")
    process = row("local_executor_process_s", "  same, whole process (start-up incl.)", [local["process_seconds"]], "s")
    no_clauses = row("suite_no_clauses_s", "  same, every clause deselected (-k LOAD): start-up and exit only",
                     [measures.suite_run("-k", "LOAD")["wall"] for _ in range(repeats)], "s")
    floor = row("import_flytekit_s", "python -c 'import flytekit' (start-up floor)",
                sampled(measures.import_flytekit_seconds, repeats), "s")
    return [suite, lifecycle, ratio("suite_over_lifecycle", "suite / one local-executor lifecycle", suite,
                                    lifecycle, "< 0.5", lambda v: v < 0.5),
            session, ratio("session_over_lifecycle", "session time / one local-executor lifecycle", session,
                           lifecycle, "", None),
            process, ratio("suite_over_process", "suite / local-executor process", suite, process, "", None),
            no_clauses, ratio("no_clauses_over_lifecycle", "no clauses / one local-executor lifecycle", no_clauses,
                              lifecycle, "", None),
            floor, ratio("floor_over_lifecycle", "import flytekit / one local-executor lifecycle", floor,
                         lifecycle, "", None)]


def bound_plugin_rows(repeats: int) -> list[Row]:
    """The whole suite on one installed bound connector per plugin beside the reference, runs alternating.

    Target (issue #13): a bound real connector's suite takes at most 2x the reference connector's.
    """
    from conformance.bindings import all_bindings
    from conformance.loading import ConnectorLoadError, load_connector_class

    rows: list[Row] = []
    first_per_plugin = {binding.distribution: binding for binding in reversed(all_bindings())}
    for binding in reversed(list(first_per_plugin.values())):
        try:
            load_connector_class(binding.connector)
        except ConnectorLoadError:
            continue  # the plugin is not installed here: nothing to measure
        pairs = [(measures.suite_run(connector=binding.connector)["wall"], measures.suite_run()["wall"])
                 for _ in range(repeats)]
        name = binding.connector.rsplit(".", 1)[-1]
        bound = row(f"bound_{name}_wall_s", f"suite vs {name} on its fake, wall", [p[0] for p in pairs], "s")
        reference = row(f"bound_{name}_reference_wall_s", "  suite vs reference, same runs", [p[1] for p in pairs],
                        "s")
        rows += [bound, reference, ratio(f"bound_{name}_over_reference", f"  {name} / reference", bound, reference,
                                         "<= 2", lambda v: v <= 2)]
    return rows


def lifecycle_rows(repeats: int, n: int) -> list[Row]:
    """2. One reference lifecycle through the gRPC driver vs the connector's methods called in-process."""
    driver = row("driver_lifecycle_ms", "reference lifecycle via gRPC driver (Platform.run)",
                 [1000 / measures.driver_throughput(measures.REFERENCE, n, 1, 0.0) for _ in range(repeats)], "ms")
    direct = row("direct_lifecycle_ms", "same lifecycle, connector called in-process",
                 [1000 * measures.direct_lifecycle_seconds(n) for _ in range(repeats)], "ms")
    return [driver, direct, ratio("driver_over_direct", "driver / in-process", driver, direct, "<= 2",
                                  lambda v: v <= 2)]


def throughput_rows(repeats: int, n: int) -> list[Row]:
    """3. Lifecycles/s through the driver, and create+get+delete cycles/s: driver vs a bare grpc.aio client.

    The bare client's rate over the driver's is the driver's own cost per cycle relative to gRPC plus
    flytekit's service, which the driver cannot skip: that is the platform path it exists to exercise.
    """
    rows = []
    for concurrency in (1, 8):
        rows.append(row(f"reference_lifecycles_per_s_c{concurrency}",
                        f"reference lifecycles/s via driver, concurrency {concurrency}",
                        sampled(lambda c=concurrency: measures.driver_throughput(measures.REFERENCE, n, c, 0.25),
                                repeats), "1/s"))
        driver = row(f"noop_cycles_per_s_c{concurrency}",
                     f"no-op create+get+delete/s via driver, concurrency {concurrency}",
                     sampled(lambda c=concurrency: measures.driver_throughput(measures.NOOP, 2 * n, c, 1.0), repeats),
                     "1/s")
        bare = row(f"bare_grpc_cycles_per_s_c{concurrency}",
                   f"no-op create+get+delete/s, bare grpc.aio, concurrency {concurrency}",
                   sampled(lambda c=concurrency: measures.bare_grpc_cycles_per_second(2 * n, c), repeats), "1/s",
                   "~450 (reference point)")
        rows += [driver, bare, ratio(f"noop_driver_cost_over_bare_c{concurrency}",
                                     "  cost per cycle, driver / bare grpc.aio", bare, driver, "", None)]
    return rows


def fuzz_rows(repeats: int, examples: int) -> list[Row]:
    """4. META-FUZZ's strategy + round-trip vs plain hypothesis strategies on the same dataclasses."""
    from hypothesis import strategies as st

    from benchmarks.metas import RichMeta
    from conformance.metadata_strategies import metadata_strategy
    from conformance.reference import JobMeta

    builders = {"metadata_strategy": lambda cls: metadata_strategy(cls).strategy,
                "st.builds": st.builds, "st.from_type": st.from_type}
    measures.fuzz_examples_per_second(lambda: st.builds(JobMeta), JobMeta, 20)  # hypothesis' one-off set-up
    rows = []
    for meta_type in (JobMeta, RichMeta):
        for name, build in builders.items():
            runs = [measures.fuzz_examples_per_second(lambda b=build, t=meta_type: b(t), meta_type, examples)
                    for _ in range(repeats)]
            key = f"fuzz_{meta_type.__name__}_{name.replace('st.', '')}"
            rows.append(row(key, f"{name}({meta_type.__name__}) + round-trip",
                            [r["examples_per_second"] for r in runs], "ex/s"))
            rows.append(row(key + "_build_ms", f"  building {name}({meta_type.__name__})",
                            [r["build_ms"] for r in runs], "ms"))
    return rows


def startup_rows(repeats: int) -> list[Row]:
    """5. What the installed plugin costs a pytest run that does not use it (runs alternate, so drift cancels)."""
    pairs = [(measures.pytest_collect_seconds(True), measures.pytest_collect_seconds(False)) for _ in range(repeats)]
    with_plugin = row("pytest_co_with_plugin_s", "pytest --co, empty dir, plugin loaded", [p[0] for p in pairs], "s")
    without = row("pytest_co_without_plugin_s", "pytest --co, empty dir, -p no:connector_conformance",
                  [p[1] for p in pairs], "s")
    # Interpreter start-up varies by +-200 ms between runs on a shared machine, far more than the plugin can
    # cost, so the verdict rests on the import itself, measured inside one process.
    delta = row("plugin_startup_delta_ms", "  paired difference (noise: see min..max)",
                [1000 * (a - b) for a, b in pairs], "ms")
    imported = measures.plugin_import()
    heavy = imported["heavy_modules_loaded"]
    return [with_plugin, without, delta,
            row("plugin_import_ms", f"import conformance.plugin after pytest; heavy: {heavy}",
                [imported["plugin_import_ms"]], "ms", "< 50, no flytekit/grpc",
                lambda ms: ms < 50 and heavy == "none")]


SECTIONS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "suite": lambda args: suite_rows(args.repeats),
    "bound": lambda args: bound_plugin_rows(args.repeats),
    "lifecycle": lambda args: lifecycle_rows(args.repeats, args.lifecycles),
    "throughput": lambda args: throughput_rows(args.repeats, args.lifecycles),
    "fuzz": lambda args: fuzz_rows(args.repeats, args.examples),
    "startup": lambda args: startup_rows(max(15, args.repeats)),
}
"""The benchmark's parts, in table order; ``--sections`` runs a subset (e.g. ``bound`` alone takes minutes)."""


def machine() -> dict[str, Any]:
    """What the numbers depend on; the load average shows how shared the machine was."""
    cpu = "unknown"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cores": os.cpu_count(), "loadavg": list(os.getloadavg()), "platform": platform.platform(),
            "python": platform.python_version(),
            "versions": {dist: version(dist) for dist in ("flytekit", "grpcio", "hypothesis", "aiohttp", "pytest")}}


def render(rows: Sequence[Row]) -> str:
    lines = [f"{'benchmark':<66}{'median':>11}  {'unit':<5}{'min..max':>19}  {'target':<22}ok"]
    for r in rows:
        spread = f"{min(r.samples):.4g}..{max(r.samples):.4g}" if len(r.samples) > 1 else ""
        verdict = {True: "yes", False: "NO", None: ""}[r.ok]
        lines.append(f"{r.label[:66]:<66}{r.median:>11.4g}  {r.unit:<5}{spread:>19}  {r.target:<22}{verdict}")
    return "\n".join(lines)


def profile_suite(limit: int = 25) -> str:
    """cProfile of every clause against the reference connector, in-process: where the suite's time goes."""
    import cProfile
    import io
    import pstats

    from conformance.load import load_subject
    from conformance.run import check_connector

    profiler = cProfile.Profile()
    with load_subject(measures.REFERENCE) as subject:
        profiler.runcall(check_connector, subject)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"conformance|fake_backends", limit)
    stats.sort_stats("tottime").print_stats(limit // 2)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measure; medians are kept")
    parser.add_argument("--lifecycles", type=int, default=60, help="lifecycles per driver measure")
    parser.add_argument("--examples", type=int, default=300, help="hypothesis examples per fuzz measure")
    parser.add_argument("--json", default=DEFAULT_JSON, help="where to write the results (%(default)s)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the suite in-process")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help="comma-separated subset of %(default)s (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    began, before = time.perf_counter(), machine()
    rows = [row for name in args.sections.split(",") for row in SECTIONS[name](args)]
    print(render(rows))
    after = dict(machine(), seconds=time.perf_counter() - began)
    with open(args.json, "w") as out:
        json.dump({"machine_before": before, "machine_after": after, "rows": [asdict(r) for r in rows]}, out, indent=2)
    print(f"\n{after['cores']} cores, load {before['loadavg'][0]:.2f} -> {after['loadavg'][0]:.2f}, "
          f"{after['seconds']:.0f} s; written to {args.json}")
    if args.profile:
        print(profile_suite())
    return 0


if __name__ == "__main__":
    sys.exit(main())
