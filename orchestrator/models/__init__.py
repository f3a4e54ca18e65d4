"""SQLModel tables (one module per resource); importing this registers them all.

Ground: imports only SQLModel and the other ground modules, never the engine or a face.
"""

from orchestrator.models.assistant import AssistantRecord
from orchestrator.models.batch import BatchRecord, BatchRequestRecord
from orchestrator.models.container import ContainerFileRecord, ContainerRecord
from orchestrator.models.event import EventRecord
from orchestrator.models.file import FileRecord
from orchestrator.models.idempotency import IdempotencyKeyRecord
from orchestrator.models.message import MessageRecord
from orchestrator.models.run import RunRecord
from orchestrator.models.sandbox_session import SandboxSessionRecord
from orchestrator.models.step import RunStepRecord
from orchestrator.models.thread import ThreadRecord
from orchestrator.models.vector_store import (
    ChunkRecord,
    VectorStoreFileBatchRecord,
    VectorStoreFileRecord,
    VectorStoreRecord,
)
from orchestrator.models.webhook import (
    RunWebhookRecord,
    WebhookAttemptRecord,
    WebhookDeliveryRecord,
    WebhookEndpointRecord,
    WebhookRunSecretRecord,
)

__all__ = [
    "AssistantRecord",
    "BatchRecord",
    "BatchRequestRecord",
    "ChunkRecord",
    "ContainerFileRecord",
    "ContainerRecord",
    "EventRecord",
    "FileRecord",
    "IdempotencyKeyRecord",
    "MessageRecord",
    "RunRecord",
    "RunStepRecord",
    "RunWebhookRecord",
    "SandboxSessionRecord",
    "ThreadRecord",
    "VectorStoreFileBatchRecord",
    "VectorStoreFileRecord",
    "VectorStoreRecord",
    "WebhookAttemptRecord",
    "WebhookDeliveryRecord",
    "WebhookEndpointRecord",
    "WebhookRunSecretRecord",
]
