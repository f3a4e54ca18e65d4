"""Domain events: what happened to a run, as records and ids, never wire dicts.

The engine emits; listeners (each face's stream renderer, the webhook outbox) subscribe at
start-up (orchestrator/wiring.py), each for its own face's runs, and render. An event with a
session is emitted inside the transaction of the move it reports, so what a listener writes
(outbox rows, deliveries) commits or rolls back with it; a live event (session None) is a
delta while the model answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from orchestrator.models import MessageRecord, RunRecord, RunStepRecord

log = logging.getLogger(__name__)

CREATED = "created"  # the `change` of a record's first event; later ones name its new status


@dataclass(frozen=True, slots=True)
class RunChanged:
    """A run was created or entered the status `change`."""

    run: RunRecord
    change: str


@dataclass(frozen=True, slots=True)
class StepChanged:
    """A run step was created or entered the status `change`."""

    run: RunRecord
    step: RunStepRecord
    change: str


@dataclass(frozen=True, slots=True)
class StepOutputs:
    """A code-interpreter step got its outputs (before the step completes)."""

    run: RunRecord
    step: RunStepRecord


@dataclass(frozen=True, slots=True)
class MessageChanged:
    """A message of a run was created or entered the status `change`."""

    run: RunRecord
    message: MessageRecord
    change: str


@dataclass(frozen=True, slots=True)
class MessageAnnotated:
    """An answer streamed before it was recorded got its citations / file links."""

    run: RunRecord
    message: MessageRecord


@dataclass(frozen=True, slots=True)
class ContentDelta:
    """Live: a content part (stored format, with its `index`) of a message being written."""

    run: RunRecord
    message_id: str
    part: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """Live: a piece of a tool call (stored format, with its `index`) of a step being written."""

    run: RunRecord
    step_id: str
    call: dict[str, Any]


Event = (RunChanged | StepChanged | StepOutputs | MessageChanged | MessageAnnotated
         | ContentDelta | ToolCallDelta)
Listener = Callable[[Session | None, Event], None]

_LISTENERS: dict[str, list[Listener]] = {}  # face -> its listeners
_warned: list[bool] = []


def subscribe(listener: Listener, face: str) -> None:
    """Call `listener` for every event of the face's runs from now on (once, however often
    subscribed): each face renders only the runs it created (`RunRecord.face`)."""
    listeners = _LISTENERS.setdefault(face, [])
    if listener not in listeners:
        listeners.append(listener)


def emit(session: Session | None, event: Event) -> None:
    """Hand `event` to every listener of its run's face, in subscription order."""
    listeners = _LISTENERS.get(event.run.face)
    if not listeners:
        if not _warned:
            _warned.append(True)
            log.warning("run events are emitted but nothing listens to face %r: call"
                        " orchestrator.wiring.install() at start-up (no stream events or"
                        " webhooks are written)", event.run.face)
        return
    for listener in listeners:
        listener(session, event)
