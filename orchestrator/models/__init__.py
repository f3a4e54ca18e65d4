"""SQLModel tables (one module per resource); importing this registers them all."""

from orchestrator.models.assistant import AssistantRecord
from orchestrator.models.batch import BatchRecord, BatchRequestRecord
from orchestrator.models.event import EventRecord
from orchestrator.models.file import FileRecord
from orchestrator.models.message import MessageRecord
from orchestrator.models.run import RunRecord
from orchestrator.models.step import RunStepRecord
from orchestrator.models.thread import ThreadRecord

__all__ = [
    "AssistantRecord",
    "BatchRecord",
    "BatchRequestRecord",
    "EventRecord",
    "FileRecord",
    "MessageRecord",
    "RunRecord",
    "RunStepRecord",
    "ThreadRecord",
]
