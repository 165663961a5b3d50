"""Load mode: many lifecycles at once through the real connector service, to catch what one clause cannot.

The platform runs every task of every connector on one service process and one event loop (F-WIRE-4),
polls from many workers at once (F-GET-1) and aborts some tasks (F-DELETE-1). A connector that leaks
per call, blocks its loop, errors now and then, or forgets to cancel passes every single-lifecycle
clause and still fails in production. Load mode runs N lifecycles, C at a time, each worker thread a
platform of its own, against one connector instance on the embedded service, and fails on any RPC
error, any orphaned job, any unfinished lifecycle, or resident memory growing past a threshold::

    python -m conformance.load --connector=conformance.reference.ReferenceConnector -n 200 -c 8

The knobs a lifecycle uses (``--connector-deadline``, ``--connector-budget``, ...) are the pytest plugin's
options, derived from ``ConformanceConfig`` and parsed the same way; the flags of the load itself
(``-n``, ``-c``, ``--abort-share``, ...) are load mode's own, in their own group of ``--help``.

Library use: ``run_load(subject, LoadPlan(n=200, concurrency=8), config) -> LoadReport``;
``load_subject(spec)`` builds the subject (and its fake backend) the way the pytest plugin does.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import itertools
import json
import math
import os
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

RPCS = ("CreateTask", "GetTask", "DeleteTask")
PERCENTILES = (50, 95, 99)
NO_TERMINAL_PHASE = "NO_TERMINAL_PHASE"
"""Not a gRPC code: the lifecycle hit its poll or time budget without a terminal phase."""
LOAD_KNOBS = ("deadline", "budget", "max_polls", "poll_interval")
"""The ConformanceConfig knobs a load lifecycle reads (a short deadline turns a blocked event loop into
DEADLINE_EXCEEDED); load mode takes them as the plugin's ``--connector-*`` options."""


@dataclass(frozen=True)
class LoadPlan:
    """How much load, and the limits that make a run fail. Every loop is bounded by ``n`` and ``max_seconds``."""

    n: int = 200
    concurrency: int = 8
    abort_share: float = 0.25
    """Share of lifecycles aborted right after the sync GetTask (create, get, DeleteTask), as user
    terminates and timeouts do; the rest poll to a terminal phase."""
    max_seconds: float = 60.0
    rss_growth_mb: float = 50.0
    warmup: int = 8
    """Lifecycles run (and not counted) before the RSS baseline, so first-use caches are not a "leak"."""

    def aborts(self, index: int) -> bool:
        """Deterministic, evenly spread: lifecycle ``index`` is aborted when the running share ticks over."""
        return math.floor((index + 1) * self.abort_share) > math.floor(index * self.abort_share)


@dataclass
class LoadReport:
    """What a load run measured; ``problems`` says why it fails, ``render``/``as_json`` show it."""

    connector: str
    plan: LoadPlan
    completed: int
    aborted: int
    seconds: float
    latencies: dict[str, list[float]]
    errors: Counter
    """(rpc, code) -> count; code is a gRPC status name, CRASHED, or NO_TERMINAL_PHASE."""
    orphans: list[str]
    rss_before_mb: float
    rss_after_mb: float
    crashes: list[str] = dataclasses.field(default_factory=list)
    """SystemExit/KeyboardInterrupt that ended the service loop, with the connector line that raised it."""
    config: Any = None
    """The ConformanceConfig the lifecycles ran with (its LOAD_KNOBS are reported)."""

    @property
    def throughput(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_after_mb - self.rss_before_mb

    def errors_by_code(self) -> dict[str, int]:
        counts: Counter = Counter()
        for (_, code), count in self.errors.items():
            counts[code] += count
        return dict(counts)

    def percentiles(self, rpc: str) -> dict[str, float]:
        """p50/p95/p99 and max in milliseconds (nearest rank); empty when the RPC was never sent."""
        ordered = sorted(self.latencies.get(rpc, []))
        if not ordered:
            return {}
        ranks = {f"p{p}": ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in PERCENTILES}
        return {name: value * 1000 for name, value in {**ranks, "max": ordered[-1]}.items()}

    def problems(self) -> list[str]:
        """Every reason this run fails; empty means it passed."""
        found = [f"connector code ended the service's event loop: {crash}" for crash in self.crashes[:1]]
        found += [f"{count} {rpc} call(s) failed with {code}" for (rpc, code), count in sorted(self.errors.items())]
        if self.completed < self.plan.n:
            found.append(f"only {self.completed} of {self.plan.n} lifecycles finished within "
                         f"{self.plan.max_seconds:g} s")
        if self.orphans:
            found.append(f"{len(self.orphans)} orphaned job(s) live and never cancelled: "
                         f"{', '.join(self.orphans[:5])}")
        if self.rss_growth_mb > self.plan.rss_growth_mb:
            found.append(f"RSS grew {self.rss_growth_mb:.1f} MB (limit {self.plan.rss_growth_mb:g} MB): a leak "
                         "per call grows until the connector pod is OOM-killed")
        return found

    @property
    def passed(self) -> bool:
        return not self.problems()

    def render(self) -> str:
        lines = [f"load: {self.connector}: {self.completed}/{self.plan.n} lifecycles ({self.aborted} aborted), "
                 f"concurrency {self.plan.concurrency}, {self.seconds:.2f} s, {self.throughput:.1f} lifecycles/s",
                 f"{'rpc':<12}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"]
        for rpc in RPCS:
            stats = self.percentiles(rpc)
            cells = "".join(f"{stats[k]:>9.1f}" if stats else f"{'-':>9}" for k in ("p50", "p95", "p99", "max"))
            lines.append(f"{rpc:<12}{len(self.latencies.get(rpc, [])):>7}{cells}")
        errors = ", ".join(f"{code}={count}" for code, count in sorted(self.errors_by_code().items()))
        lines += [f"errors by code: {errors or 'none'}",
                  f"orphaned jobs: {len(self.orphans)}",
                  f"RSS: {self.rss_before_mb:.1f} MB -> {self.rss_after_mb:.1f} MB "
                  f"({self.rss_growth_mb:+.1f} MB, limit {self.plan.rss_growth_mb:g} MB)"]
        problems = self.problems()
        lines.append("result: PASS" if not problems else "result: FAIL\n" + "\n".join(f"  - {p}" for p in problems))
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "connector": self.connector, "plan": dataclasses.asdict(self.plan), "config": self._knobs(),
            "completed": self.completed,
            "aborted": self.aborted, "seconds": self.seconds, "lifecycles_per_second": self.throughput,
            "latency_ms": {rpc: self.percentiles(rpc) for rpc in RPCS},
            "calls": {rpc: len(self.latencies.get(rpc, [])) for rpc in RPCS},
            "errors_by_code": self.errors_by_code(),
            "errors_by_rpc": {f"{rpc}:{code}": count for (rpc, code), count in self.errors.items()},
            "orphans": self.orphans, "crashes": self.crashes,
            "rss_before_mb": self.rss_before_mb, "rss_after_mb": self.rss_after_mb,
            "rss_growth_mb": self.rss_growth_mb, "passed": self.passed, "problems": self.problems(),
        }

    def _knobs(self) -> dict[str, Any]:
        return {name: getattr(self.config, name) for name in LOAD_KNOBS} if self.config else {}


def rss_mb() -> float:
    """Current resident set size of this process (the connector runs in it), after a full collection.

    /proc/self/statm gives the current value; ``ru_maxrss`` (the peak) is the fallback off Linux.
    """
    gc.collect()
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class _Tally:
    """What the workers of one pool found; each worker appends under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    completed: int = 0
    aborted: int = 0
    errors: Counter = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def add(self, aborted: bool, error: tuple[str, str] | None) -> None:
        with self.lock:
            self.completed += 1
            self.aborted += aborted
            if error is not None:
                self.errors[error] += 1

    def add_latencies(self, entries: Sequence[Any]) -> None:
        with self.lock:
            for entry in entries:
                self.latencies.setdefault(entry.call, []).append(entry.took)


def _lifecycle(platform: Any, abort: bool) -> tuple[str, str] | None:
    """One attempt as the platform runs it; returns (rpc, code) of the failure that ended it, if any."""
    from conformance.errors import CallTimedOut, RpcFailed
    from conformance.platform import LifecycleBudgetExceeded

    try:
        if abort:
            platform.delete(platform.start().meta)
        else:
            platform.run()
    except CallTimedOut as exc:
        return exc.what, "DEADLINE_EXCEEDED"
    except RpcFailed as exc:
        return exc.method, exc.code
    except LifecycleBudgetExceeded:
        return "GetTask", NO_TERMINAL_PHASE
    return None


def _run_pool(make_platform: Callable[[], Any], plan: LoadPlan, deadline: float, count: int,
              stop_at: float) -> tuple[_Tally, float]:
    """``count`` lifecycles on ``plan.concurrency`` threads, none started after ``stop_at``."""
    tally = _Tally()
    indices = itertools.count()  # shared: each worker takes the next index
    began = time.perf_counter()

    def worker() -> None:
        platform = make_platform()
        for index in indices:
            if index >= count or time.perf_counter() > stop_at:
                break
            abort = plan.aborts(index)
            tally.add(abort, _lifecycle(platform, abort))
        tally.add_latencies(platform.transcript.entries)

    threads = [threading.Thread(target=worker, name=f"load-{i}", daemon=True)
               for i in range(max(1, min(plan.concurrency, count)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        # Each lifecycle is bounded by deadline and budget, so this ends; the join bound is a backstop.
        thread.join(plan.max_seconds + deadline * 3 + 5)
    return tally, time.perf_counter() - began


def _orphans(backend: Any) -> list[str]:
    from fake_backends import unstopped

    return [] if backend is None else [job.job_id for job in unstopped(backend)]


def run_load(subject: Any, plan: LoadPlan = LoadPlan(), config: Any = None) -> LoadReport:
    """Run ``plan.n`` lifecycles against one instance from ``subject.factory`` on the embedded service.

    ``subject`` is a :class:`conformance.run.Subject`: its template/inputs default as in the suite,
    and its ``backend`` (a fake with ``live_jobs()``) is checked for orphans afterwards. ``config``
    (a ConformanceConfig, default the suite's) gives deadline, budget and polling; the budget never
    exceeds ``plan.max_seconds``.
    """
    from conformance.config import ConformanceConfig
    from conformance.platform import Platform
    from conformance.run import ClauseRun
    from conformance.service import ServiceRuntime
    from conformance.transcript import Transcript

    stop_at = time.perf_counter() + plan.max_seconds
    config = config or ConformanceConfig()
    config = dataclasses.replace(config, budget=min(config.budget, plan.max_seconds))
    runtime = ServiceRuntime()
    try:
        with tempfile.TemporaryDirectory(prefix="conformance-load-") as workdir, \
                mock.patch.dict(os.environ, subject.environment):  # a binding's redirection, as in run_clause
            run = ClauseRun(subject, runtime, config, workdir)  # builds and installs the one instance

            def make_platform() -> Platform:
                return Platform(runtime, run.spec, config, Transcript())

            _run_pool(make_platform, plan, config.deadline, min(plan.warmup, plan.n), stop_at)
            before = rss_mb()
            tally, seconds = _run_pool(make_platform, plan, config.deadline, plan.n, stop_at)
            after = rss_mb()
    finally:
        runtime.close()
    return LoadReport(subject.name, plan, tally.completed, tally.aborted, seconds, tally.latencies,
                      tally.errors, _orphans(subject.backend), before, after, list(runtime.crashes), config)


def load_subject(connector_spec: str, factory_spec: str | None = None) -> contextlib.AbstractContextManager[Any]:
    """The subject for ``connector_spec``, bound like the plugin binds it (``bindings.subject_of``), for ``with``.

    A real plugin's connector with a binding (``conformance.bindings``) gets its fake, template, inputs
    and environment; classes declaring ``conformance_backend = "jobs"`` get a fresh fake job service
    and ``base_url=``; others are built with no arguments. ``factory_spec`` names a callable
    ``factory(backend)`` (the fake, or None) returning the connector instance, for connectors that
    need more.
    """
    from conformance.bindings import subject_of
    from conformance.loading import resolve

    return subject_of(connector_spec, resolve(factory_spec) if factory_spec else None)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = LoadPlan()
    parser = argparse.ArgumentParser(prog="python -m conformance.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--connector", required=True, help="connector class, pkg.mod.Class or pkg.mod:Class")
    parser.add_argument("--factory", help="callable pkg.mod:func(backend) -> connector instance")
    load = parser.add_argument_group("load", "how much load, and the limits that fail the run (load mode only)")
    load.add_argument("-n", type=int, default=defaults.n, help="lifecycles to run (default %(default)s)")
    load.add_argument("-c", "--concurrency", type=int, default=defaults.concurrency,
                      help="lifecycles in flight at once (default %(default)s)")
    load.add_argument("--abort-share", type=float, default=defaults.abort_share,
                      help="share of lifecycles aborted with DeleteTask (default %(default)s)")
    load.add_argument("--max-seconds", type=float, default=defaults.max_seconds,
                      help="no lifecycle starts after this (default %(default)s)")
    load.add_argument("--rss-growth-mb", type=float, default=defaults.rss_growth_mb,
                      help="fail if resident memory grows more (default %(default)s)")
    load.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    _add_knobs(parser.add_argument_group("knobs", "the pytest plugin's options of the same names"))
    return parser.parse_args(argv)


def _add_knobs(group: Any) -> None:
    """``--connector-<knob>`` for each of LOAD_KNOBS, with the plugin's help, parsed by ``config.parse``."""
    from conformance.config import knobs, meaning, option_name, shown

    for knob in knobs():
        if knob.name in LOAD_KNOBS:
            flag = f"--connector-{option_name(knob)}"
            group.add_argument(flag, dest=knob.name, type=_parser(knob, flag), metavar="VALUE",
                               help=f"{meaning(knob)} (default {shown(knob.default)})")


def _parser(knob: Any, flag: str) -> Callable[[str], Any]:
    """argparse's ``type=`` for a knob: the plugin's parsing, its usage error naming the valid values."""
    from conformance.config import parse

    def parsed(text: str) -> Any:
        try:
            return parse(knob, text, flag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{flag}: ")) from None

    return parsed


def _config(args: argparse.Namespace) -> Any:
    """ConformanceConfig from the knobs given on the command line; the rest keep the suite's defaults."""
    from conformance.config import ConformanceConfig

    return ConformanceConfig(**{name: getattr(args, name) for name in LOAD_KNOBS if getattr(args, name) is not None})


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 if the run passed, 1 if it found a problem, 2 if the connector could not be loaded."""
    from conformance.loading import ConnectorLoadError
    from conformance.run import ConnectorConstructionError

    args = _arguments(argv)
    plan = LoadPlan(n=args.n, concurrency=args.concurrency, abort_share=args.abort_share,
                    max_seconds=args.max_seconds, rss_growth_mb=args.rss_growth_mb)
    try:
        with load_subject(args.connector, args.factory) as subject:
            report = run_load(subject, plan, _config(args))
    except (ConnectorLoadError, ConnectorConstructionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report.as_json(), out, indent=2)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
