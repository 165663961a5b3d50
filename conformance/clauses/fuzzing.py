"""Metadata fuzzing: every meta that metadata_type's type hints allow must round-trip (F-WIRE-1).

Profiles trade time for depth: ``dev`` (the default) keeps the edit loop fast, ``ci`` runs more
examples from a fixed seed so a merge gate never flakes, ``thorough`` is for a nightly job. Every
failure prints its seed and a minimal reproduction, so a red CI run can be replayed locally.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.clause import ClauseFailure, ClauseSkip, clause
from conformance.config import FUZZ_PROFILES, FuzzProfile, fuzz_seed
from conformance.errors import brief
from conformance.metadata_strategies import metadata_strategy
from conformance.roundtrip import data_loss
from conformance.snapshots import connector_dir, record

if TYPE_CHECKING:  # flytekit is imported where a clause runs, not when the catalogue loads
    from flytekit.extend.backend.base_connector import ResourceMeta

    from conformance.run import ClauseRun

RECORDED_SAMPLES = 20
"""Round-tripping fuzz examples stored per run when a snapshot directory is set (META-UPGRADE reads them)."""
SECONDS_PER_EXAMPLE = 0.05
"""Deadline allowance per example beyond the lifecycle budget, so big profiles are not cut off."""


def profile(name: str) -> FuzzProfile:
    """The named profile; an unknown name is a ValueError listing the known ones."""
    if name not in FUZZ_PROFILES:
        raise ValueError(f"unknown fuzz profile {name!r} (known: {', '.join(FUZZ_PROFILES)})")
    return FUZZ_PROFILES[name]


def fuzz_plan(config) -> tuple[int, int]:
    """(examples, seed): --connector-fuzz-examples raised to the profile's minimum; an explicit seed wins."""
    chosen = profile(config.fuzz_profile)
    examples = max(config.fuzz_examples, chosen.min_examples)
    return examples, fuzz_seed(config)


@clause("META-FUZZ", fact="F-WIRE-1",
        consequence="A job whose meta holds such a value is polled or cancelled with different data than create() "
                    "produced, or GetTask fails with INTERNAL for the task's whole life.",
        fix="Encode that type losslessly (or narrow the type hint to what you actually store).")
def fuzz_roundtrip(run: ClauseRun) -> None:
    """Every metadata_type instance hypothesis derives from the type hints round-trips (F-WIRE-1)."""
    meta_type = run.connector.metadata_type
    plan = metadata_strategy(meta_type, run.subject.metadata_strategies)
    unsupported = "; ".join(f"{u.path}: {u.annotation} ({u.reason})" for u in plan.unsupported)
    if plan.strategy.is_empty:
        raise ClauseSkip(f"cannot generate {meta_type.__name__} values: {unsupported}; "
                         "give strategies with the connector_metadata_strategies fixture")
    if unsupported:
        run.notes.append(f"META-FUZZ: fields left at their defaults: {unsupported}")
    samples: list[bytes] = []
    loss = _loss_recording(meta_type, samples)
    examples, seed = fuzz_plan(run.config)
    search = run.call_blocking(lambda: _shrunk_counterexample(plan.strategy, loss, examples, seed),
                               "metadata fuzzing", timeout=run.config.budget + examples * SECONDS_PER_EXAMPLE)
    if run.config.snapshots:
        record(connector_dir(run.config.snapshots, run.connector), "fuzz", samples)
    example = _judged(run, search, plan)
    if example is None:
        return
    problem = loss(example)  # re-checked: only a reproducible loss is reported
    if problem is None:
        run.notes.append(f"META-FUZZ: a flaky round-trip failure did not reproduce for {example!r:.200}")
        return
    raise ClauseFailure(
        expected=f"decode(encode(m)) == m for every {meta_type.__name__} the type hints allow",
        observed=f"shrunk counterexample: {example!r:.300}\n{problem}\n{_reproduction(run, meta_type, example, seed)}",
    )


def _loss_recording(meta_type: type[ResourceMeta], samples: list[bytes]) -> Callable[[Any], str | None]:
    """The round-trip check; encodings that survive it are kept (a few) as upgrade snapshots."""

    def loss(meta) -> str | None:
        try:
            encoded = meta.encode()
            problem = data_loss(meta, meta_type.decode(encoded))
        except Exception as exc:
            return f"encode/decode raised {brief(exc)}"
        if problem is None and isinstance(encoded, bytes) and len(samples) < RECORDED_SAMPLES:
            samples.append(encoded)
        return problem

    return loss


def _reproduction(run: ClauseRun, meta_type: type[ResourceMeta], example: Any, seed: int) -> str:
    """The seed to replay the search and the few lines that show the loss without the suite."""
    return (f"seed: {seed} (replay: -k META-FUZZ --connector-fuzz-seed={seed} "
            f"--connector-fuzz-profile={run.config.fuzz_profile})\n"
            f"minimal reproduction:\n"
            f"    from {meta_type.__module__} import {meta_type.__qualname__.split('.')[0]}\n"
            f"    meta = {example!r:.300}\n"
            f"    assert {meta_type.__qualname__}.decode(meta.encode()) == meta")


@dataclass(frozen=True)
class _Search:
    """What hypothesis found: a counterexample, or why it has none to give."""

    example: Any = None
    flaky: str = ""
    """The loss did not reproduce on replay (the connector's encode/decode is not deterministic)."""
    unsatisfiable: bool = False
    """Every drawn value was rejected: no instance could be built from the type hints."""
    internal: Exception | None = None
    """hypothesis itself failed: a harness error, never the connector's failure."""


def _shrunk_counterexample(strategy, loss, examples: int, seed: int) -> _Search:
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import Flaky, HypothesisException, HypothesisWarning, NoSuchExample, Unsatisfiable

    try:
        with warnings.catch_warnings():  # hypothesis' own advice (a long repr) is not the author's concern,
            warnings.simplefilter("ignore", HypothesisWarning)  # and must not fail a `filterwarnings = error` repo
            return _Search(find(strategy, lambda meta: loss(meta) is not None, random=random.Random(seed),
                                settings=settings(max_examples=examples, database=None, deadline=None,
                                                  suppress_health_check=list(HealthCheck))))
    except NoSuchExample:
        return _Search()
    except Flaky as exc:
        return _Search(flaky=brief(exc))
    except Unsatisfiable:
        return _Search(unsatisfiable=True)
    except HypothesisException as exc:
        return _Search(internal=exc)


def _judged(run: ClauseRun, search: _Search, plan) -> Any:
    """The counterexample to report, or None; what only limits the search becomes a note or a skip."""
    rejected = "; ".join(f"{u.path}: {u.reason}" for u in plan.rejected.values())
    if search.internal is not None:
        raise search.internal  # run_clause reports it as a harness error
    if search.unsatisfiable:
        raise ClauseSkip(f"cannot derive a strategy for {rejected or 'the metadata type'}: no drawn value could be "
                         "built; give one in the connector_metadata_strategies fixture")
    if rejected:
        run.notes.append(f"META-FUZZ: drawn values some constructors refused were skipped ({rejected}); "
                         "give strategies in connector_metadata_strategies to fuzz those fields fully")
    if search.flaky:
        run.notes.append(f"META-FUZZ: a round-trip failure did not reproduce on replay ({search.flaky})")
    return search.example
