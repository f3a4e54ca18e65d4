"""Thread records to wire objects."""

from __future__ import annotations

from orchestrator.faces.assistants.mappers.tools import resources_for_v2
from orchestrator.faces.assistants.schemas.common import Version
from orchestrator.faces.assistants.schemas.thread import Thread, ThreadV1
from orchestrator.models import ThreadRecord


def thread(rec: ThreadRecord, version: Version) -> Thread | ThreadV1:
    """The thread as the given API version shows it; unset metadata and resources show as {}."""
    metadata = rec.meta if rec.meta is not None else {}
    if version == "v1":
        return ThreadV1(id=rec.id, created_at=rec.created_at, metadata=metadata)
    return Thread(id=rec.id, created_at=rec.created_at,
                  tool_resources=resources_for_v2(rec.tool_resources, []), metadata=metadata)
