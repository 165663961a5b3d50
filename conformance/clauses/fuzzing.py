"""Metadata fuzzing: every meta that metadata_type's type hints allow must round-trip (F-WIRE-1)."""

from __future__ import annotations

from conformance.clause import ClauseFailure, ClauseSkip, clause
from conformance.errors import brief
from conformance.metadata_strategies import metadata_strategy
from conformance.roundtrip import first_difference


@clause("META-FUZZ", fact="F-WIRE-1")
def fuzz_roundtrip(run) -> None:
    """Every metadata_type instance hypothesis derives from the type hints round-trips (F-WIRE-1)."""
    meta_type = run.connector.metadata_type
    plan = metadata_strategy(meta_type, run.subject.metadata_strategies)
    unsupported = "; ".join(f"{u.path}: {u.annotation} ({u.reason})" for u in plan.unsupported)
    if plan.strategy.is_empty:
        raise ClauseSkip(f"cannot generate {meta_type.__name__} values: {unsupported}; "
                         "give strategies with the connector_metadata_strategies fixture")
    if unsupported:
        run.notes.append(f"META-FUZZ: fields left at their defaults: {unsupported}")

    def loss(meta) -> str | None:
        try:
            return first_difference(meta, meta_type.decode(meta.encode()))
        except Exception as exc:
            return f"encode/decode raised {brief(exc)}"

    example = run.runtime.run_blocking(lambda: _shrunk_counterexample(plan.strategy, loss, run.config),
                                       run.config.lifecycle_budget, "metadata fuzzing")
    if example is None:
        return
    problem = loss(example)  # re-checked: only a reproducible loss is reported
    if problem is None:
        run.notes.append(f"META-FUZZ: a flaky round-trip failure did not reproduce for {example!r:.200}")
        return
    raise ClauseFailure(
        expected=f"decode(encode(m)) == m for every {meta_type.__name__} the type hints allow",
        observed=f"shrunk counterexample: {example!r:.300}\n{problem}",
        consequence="A job whose meta holds such a value is polled or cancelled with different data than "
                    "create() produced, or GetTask fails with INTERNAL for the task's whole life.",
        fix="Encode that type losslessly (or narrow the type hint to what you actually store).",
    )


def _shrunk_counterexample(strategy, loss, config):
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import NoSuchExample

    try:
        return find(strategy, lambda meta: loss(meta) is not None, settings=settings(
            max_examples=config.fuzz_examples, database=None, deadline=None,
            suppress_health_check=list(HealthCheck),
        ))
    except NoSuchExample:
        return None
