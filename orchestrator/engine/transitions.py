"""The one pure table of allowed run transitions; no I/O here."""

from __future__ import annotations

from orchestrator.engine.status import RunStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.QUEUED: frozenset({S.IN_PROGRESS, S.CANCELLING, S.FAILED, S.EXPIRED}),
    S.IN_PROGRESS: frozenset({S.REQUIRES_ACTION, S.COMPLETED, S.FAILED, S.INCOMPLETE,
                              S.CANCELLING, S.QUEUED, S.EXPIRED}),
    S.REQUIRES_ACTION: frozenset({S.QUEUED, S.CANCELLING, S.EXPIRED, S.FAILED}),
    S.CANCELLING: frozenset({S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.FAILED: frozenset(),
    S.COMPLETED: frozenset(),
    S.INCOMPLETE: frozenset(),
    S.EXPIRED: frozenset(),
}


class IllegalTransition(Exception):
    """A (from, to) pair the table does not allow."""

    def __init__(self, current: S, target: S) -> None:
        super().__init__(f"run cannot go from {current} to {target}")
        self.current = current
        self.target = target


def can(current: S, target: S) -> bool:
    """Whether the table allows current -> target."""
    return target in ALLOWED[current]


def transition(current: S, target: S) -> S:
    """Check current -> target; the status entered (what the run's domain event reports)."""
    if not can(current, target):
        raise IllegalTransition(current, target)
    return target
