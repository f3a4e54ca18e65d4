"""Every (from, to) pair of run statuses against the transition table."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.engine.status import ACTIVE, TERMINAL, RunStatus
from orchestrator.engine.transitions import IllegalTransition, can, transition
from orchestrator.faces.assistants.render import run_event

S = RunStatus
EXPECTED = {
    (S.QUEUED, S.IN_PROGRESS), (S.QUEUED, S.CANCELLING), (S.QUEUED, S.FAILED),
    (S.QUEUED, S.EXPIRED),
    (S.IN_PROGRESS, S.REQUIRES_ACTION), (S.IN_PROGRESS, S.COMPLETED),
    (S.IN_PROGRESS, S.FAILED), (S.IN_PROGRESS, S.INCOMPLETE), (S.IN_PROGRESS, S.CANCELLING),
    (S.IN_PROGRESS, S.QUEUED), (S.IN_PROGRESS, S.EXPIRED),
    (S.REQUIRES_ACTION, S.QUEUED), (S.REQUIRES_ACTION, S.CANCELLING),
    (S.REQUIRES_ACTION, S.EXPIRED), (S.REQUIRES_ACTION, S.FAILED),
    (S.CANCELLING, S.CANCELLED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair(current: RunStatus, target: RunStatus) -> None:
    allowed = (current, target) in EXPECTED
    assert can(current, target) is allowed
    if allowed:
        assert run_event(transition(current, target)) == f"thread.run.{target.value}"
    else:
        with pytest.raises(IllegalTransition):
            transition(current, target)


def test_terminal_states_are_final_and_active_ones_can_end() -> None:
    assert set(S) == TERMINAL | ACTIVE and not TERMINAL & ACTIVE
    for status in TERMINAL:
        assert not any(can(status, t) for t in S)
    for status in ACTIVE:
        assert any(can(status, t) for t in S)


def test_status_values_are_sdk_literals() -> None:
    from typing import get_args

    from openai.types.beta.threads.run_status import RunStatus as SDKRunStatus

    assert {s.value for s in S} == set(get_args(SDKRunStatus))
