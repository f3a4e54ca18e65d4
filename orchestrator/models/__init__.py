"""SQLModel tables (one module per resource); importing this registers them all."""

from orchestrator.models.assistant import AssistantRecord
from orchestrator.models.file import FileRecord
from orchestrator.models.message import MessageRecord
from orchestrator.models.thread import ThreadRecord

__all__ = ["AssistantRecord", "FileRecord", "MessageRecord", "ThreadRecord"]
