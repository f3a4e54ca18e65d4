"""The code_interpreter tool of a response: its container as the engine's tool entry, the
container's new files from what the code wrote, and the links an answer makes to them.

The engine runs the code in the sandbox session its tool entry names (the container's id)
with the files the entry lists; this face keeps the container's files up to date.
"""

from __future__ import annotations

import base64
import posixpath
from typing import Any

from sqlmodel import Session, col, select

from orchestrator.engine import events as ev
from orchestrator.engine.code_interpreter import NAME, session_of
from orchestrator.errors import InvalidRequest
from orchestrator.faces.responses import containers
from orchestrator.models import (
    ContainerFileRecord,
    ContainerRecord,
    FileRecord,
    RunRecord,
    RunStepRecord,
    ThreadRecord,
)
from orchestrator.storage import get_store

FACE = "responses"
AUTO_NAME = "Code interpreter"
MAX_AUTO_FILES = 50
RECENT_RUNS = 20  # a conversation's newest responses looked at for a container to reuse


def container_of(run: RunRecord) -> str | None:
    """The container a response runs its code in, if it has the tool."""
    if not any(t.get("type") == NAME and t.get("session") for t in run.tools):
        return None
    return session_of(run)


def _reusable(session: Session, tenant: str, prev: RunRecord | None,
              thread: ThreadRecord | None) -> ContainerRecord | None:
    """The container of the response this one continues (or of its conversation's latest
    one that had a container), when it is still there and not expired."""
    runs: list[RunRecord] = [prev] if prev is not None else []
    if thread is not None:
        runs += list(session.exec(select(RunRecord).where(
            RunRecord.thread_id == thread.id, RunRecord.face == FACE,
        ).order_by(col(RunRecord.seq).desc()).limit(RECENT_RUNS)).all())
    for run in runs:
        cid = container_of(run)
        if cid is None:
            continue
        found = session.exec(select(ContainerRecord).where(
            ContainerRecord.id == cid, ContainerRecord.tenant == tenant)).first()
        if found is not None and not containers.expired(found):
            return found
    return None


def _auto(session: Session, tenant: str, spec: dict[str, Any], where: str,
          prev: RunRecord | None, thread: ThreadRecord | None) -> ContainerRecord:
    ids = spec.get("file_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(
            ids) > MAX_AUTO_FILES:
        raise InvalidRequest(f"'file_ids' must be a list of at most {MAX_AUTO_FILES} file"
                             " ids.", param=f"{where}.file_ids")
    container = _reusable(session, tenant, prev, thread) or containers.new(
        session, tenant, AUTO_NAME)
    containers.add_files(session, container, ids, f"{where}.file_ids")
    return container


def engine_tool(session: Session, tenant: str, tool: dict[str, Any], where: str,
                prev: RunRecord | None, thread: ThreadRecord | None) -> dict[str, Any]:
    """A code_interpreter tool as the engine takes it: the container's session and files.

    `container` is a container id of the tenant, or {"type": "auto", "file_ids": [...]}: the
    container of the response this one continues, else a new one, with those files added.
    """
    spec = tool.get("container")
    if isinstance(spec, str):
        container = containers.usable(session, tenant, spec, f"{where}.container")
    elif isinstance(spec, dict) and spec.get("type", "auto") == "auto":
        container = _auto(session, tenant, spec, f"{where}.container", prev, thread)
    else:
        raise InvalidRequest("code_interpreter needs a 'container': a container id or"
                             " {\"type\": \"auto\", \"file_ids\": [...]}.",
                             param=f"{where}.container")
    containers.touch(session, container)
    files = [{"file_id": f.file_id, "name": posixpath.relpath(f.path, containers.DATA)}
             for f in containers.files(session, container)]
    return {"type": NAME, "session": container.id, "files": files}


def on_event(session: Session | None, event: ev.Event) -> None:
    """A code step's outputs: the files the code wrote become the container's files."""
    if session is None or not isinstance(event, ev.StepOutputs):
        return
    cid = container_of(event.run)
    if cid is None:
        return
    produced: dict[str, str] = {}
    for files in (event.step.step_details.get("sandbox_files") or {}).values():
        produced.update(files)
    containers.record_outputs(session, cid, event.run.tenant, produced)


def links(session: Session, run: RunRecord, steps: list[RunStepRecord]) -> dict[str, Any]:
    """What the answer's sandbox links cite, by the written file's id: the container file
    now at that path (container_id, file_id, filename)."""
    cid = container_of(run)
    paths = {fid: path for step in steps
             for files in (step.step_details.get("sandbox_files") or {}).values()
             for path, fid in files.items()}
    if cid is None or not paths:
        return {}
    rows = {r.path: r for r in session.exec(select(ContainerFileRecord).where(
        ContainerFileRecord.container_id == cid,
        col(ContainerFileRecord.path).in_(list(paths.values())))).all()}
    return {fid: {"container_id": cid, "file_id": rows[p].id if p in rows else fid,
                  "filename": posixpath.basename(p)} for fid, p in paths.items()}


def image_urls(session: Session, steps: list[RunStepRecord]) -> dict[str, str]:
    """The code's figures as data URLs, by file id (for included outputs)."""
    ids = [out["image"]["file_id"] for step in steps
           for call in step.step_details.get("tool_calls", []) if call.get("type") == NAME
           for out in call[NAME].get("outputs", []) if out.get("type") == "image"]
    if not ids:
        return {}
    store, urls = get_store(), {}
    for rec in session.exec(select(FileRecord).where(col(FileRecord.id).in_(ids))).all():
        data = b"".join(store.reader(rec.storage_key))
        urls[rec.id] = "data:image/png;base64," + base64.b64encode(data).decode()
    return urls
