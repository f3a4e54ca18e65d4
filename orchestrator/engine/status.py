"""Run and run-step statuses; values equal the SDK's literals."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Status of a run."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    REQUIRES_ACTION = "requires_action"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    EXPIRED = "expired"


class StepStatus(StrEnum):
    """Status of a run step."""

    IN_PROGRESS = "in_progress"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    EXPIRED = "expired"


TERMINAL = frozenset({RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.COMPLETED,
                      RunStatus.INCOMPLETE, RunStatus.EXPIRED})
ACTIVE = frozenset(RunStatus) - TERMINAL
# Where a client's stream (and the SDK's poll helpers) stop.
STREAM_END = TERMINAL | {RunStatus.REQUIRES_ACTION}
