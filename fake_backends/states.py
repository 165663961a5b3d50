"""A service's own state names for the roles the conformance clauses script.

The clauses speak of roles ("a job that is running, then fails"); every fake speaks its service's
vocabulary (Databricks ``RUNNING``/``TERMINATED``, OpenAI ``in_progress``/``completed``, SageMaker
``InProgress``/``Completed``). A fake declares one :class:`States`, and a clause scripts
``[backend.states.running, backend.states.failed]`` whatever stands behind the connector.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["States", "GENERIC"]


@dataclass(frozen=True)
class States:
    """The state names one fake uses for each role; ``terminal`` adds the service's other end states."""

    submitted: str
    """A job that exists but has not been read yet (its script has not started)."""
    pending: str
    running: str
    succeeded: str
    failed: str
    cancelling: str
    """Between a cancel request and the next status read."""
    cancelled: str
    extra_terminal: frozenset[str] = field(default_factory=frozenset)
    """End states beyond succeeded/failed/cancelled (e.g. OpenAI's ``expired``)."""

    @property
    def terminal(self) -> frozenset[str]:
        return frozenset({self.succeeded, self.failed, self.cancelled}) | self.extra_terminal

    @property
    def default_walk(self) -> tuple[str, ...]:
        """What an unscripted job shows on its reads: pending, running, succeeded."""
        return (self.pending, self.running, self.succeeded)

    def known(self) -> frozenset[str]:
        """Every name this vocabulary defines; a script with any other name is an 'unknown state'."""
        return self.terminal | {self.submitted, self.pending, self.running, self.cancelling}


GENERIC = States(
    submitted="SUBMITTED",
    pending="PENDING",
    running="RUNNING",
    succeeded="SUCCEEDED",
    failed="FAILED",
    cancelling="CANCELLING",
    cancelled="CANCELLED",
)
"""The generic fake job service's vocabulary (see :mod:`fake_backends.server`)."""
