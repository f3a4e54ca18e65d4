"""Batch statuses; values equal the SDK's literals."""

from __future__ import annotations

from enum import StrEnum


class BatchStatus(StrEnum):
    """Status of a batch."""

    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


FINAL = frozenset({BatchStatus.FAILED, BatchStatus.COMPLETED, BatchStatus.EXPIRED,
                   BatchStatus.CANCELLED})
# What the feeder looks at on every tick.
LIVE = frozenset(BatchStatus) - FINAL
CANCELLABLE = frozenset({BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS})
