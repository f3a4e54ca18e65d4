"""The one pure table of run transitions, each edge with the functions that perform it; no I/O.

A performer is named by its qualified name as a string (module.function), so this table imports
none of them; cas.move() checks that its caller is a listed performer of the edge it moves, and
tests/unit/test_lifecycle.py checks the table against the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.engine.status import RunStatus as S

EXECUTION = "orchestrator.engine.execution"
TERMINAL = "orchestrator.engine.terminal"
RUNS = "orchestrator.engine.runs"
CLAIM = f"{EXECUTION}.claim"
RECORD_OUTCOME = f"{EXECUTION}.record_outcome"
FAIL = f"{TERMINAL}.fail"
EXPIRE = f"{TERMINAL}.expire"
FINISH_CANCEL = f"{TERMINAL}.finish_cancel"
MARK_INCOMPLETE = f"{TERMINAL}.mark_incomplete"
RECORD_SEARCH = "orchestrator.engine.file_search.record_search"
LAST_RESORT = "orchestrator.engine.attempts.last_resort"
CANCEL = f"{RUNS}.request_cancel"
SUBMIT = f"{RUNS}.accept_outputs"
NEW_RUN = f"{RUNS}.insert_queued"  # inserts a run, queued


@dataclass(frozen=True)
class Edge:
    """One allowed (from, to) move and the functions that perform it.

    `reachable=False`: no path performs it, so no test can exercise it. fail() lists the
    queued / requires_action ones so that its stale attempt (under a lease the run no longer
    has) loses the compare-and-set quietly instead of raising; in_progress -> queued has no
    performer at all (the table allows it; nothing uses it).
    """

    source: S
    target: S
    performers: tuple[str, ...]
    reachable: bool = True


EDGES: tuple[Edge, ...] = (
    Edge(S.QUEUED, S.IN_PROGRESS, (CLAIM,)),
    Edge(S.QUEUED, S.CANCELLING, (CANCEL,)),
    Edge(S.QUEUED, S.EXPIRED, (EXPIRE,)),
    Edge(S.QUEUED, S.FAILED, (FAIL,), reachable=False),
    Edge(S.IN_PROGRESS, S.REQUIRES_ACTION, (RECORD_OUTCOME, RECORD_SEARCH)),
    Edge(S.IN_PROGRESS, S.COMPLETED, (RECORD_OUTCOME,)),
    Edge(S.IN_PROGRESS, S.INCOMPLETE, (RECORD_OUTCOME, MARK_INCOMPLETE)),
    Edge(S.IN_PROGRESS, S.FAILED, (FAIL, LAST_RESORT)),
    Edge(S.IN_PROGRESS, S.CANCELLING, (CANCEL,)),
    Edge(S.IN_PROGRESS, S.EXPIRED, (EXPIRE,)),
    Edge(S.IN_PROGRESS, S.QUEUED, (), reachable=False),
    Edge(S.REQUIRES_ACTION, S.QUEUED, (SUBMIT,)),
    Edge(S.REQUIRES_ACTION, S.CANCELLING, (CANCEL,)),
    Edge(S.REQUIRES_ACTION, S.EXPIRED, (EXPIRE,)),
    Edge(S.REQUIRES_ACTION, S.FAILED, (FAIL,), reachable=False),
    Edge(S.CANCELLING, S.CANCELLED, (FINISH_CANCEL, LAST_RESORT)),
)

BY_PAIR: dict[tuple[S, S], Edge] = {(e.source, e.target): e for e in EDGES}
ALLOWED: dict[S, frozenset[S]] = {
    s: frozenset(e.target for e in EDGES if e.source is s) for s in S}


class IllegalTransition(Exception):
    """A (from, to) pair the table does not allow, or a caller it does not list for it."""

    def __init__(self, current: S, target: S, performer: str | None = None) -> None:
        why = f" by {performer} (not a listed performer)" if performer else ""
        super().__init__(f"run cannot go from {current} to {target}{why}")
        self.current = current
        self.target = target
        self.performer = performer


def can(current: S, target: S) -> bool:
    """Whether the table allows current -> target."""
    return target in ALLOWED[current]


def transition(current: S, target: S) -> S:
    """Check current -> target; the status entered (what the run's domain event reports)."""
    if not can(current, target):
        raise IllegalTransition(current, target)
    return target


def check(current: S, target: S, performer: str) -> S:
    """transition(), also requiring `performer` to be listed for the edge; the status entered."""
    edge = BY_PAIR.get((current, target))
    if edge is None:
        raise IllegalTransition(current, target)
    if performer not in edge.performers:
        raise IllegalTransition(current, target, performer)
    return target


def performers_of(target: S) -> frozenset[str]:
    """Every function listed for some edge into `target`."""
    return frozenset(p for e in EDGES if e.target is target for p in e.performers)
