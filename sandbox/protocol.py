"""What the sandbox is asked to do and what it answers, plus the backend protocol."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

# "unavailable": no sandbox can run at all (e.g. its image is missing); the run fails.
Status = Literal["ok", "error", "timeout", "killed", "cancelled", "unavailable"]


# How the worker reads an input file's bytes: its storage key -> chunks (the blob store's
# reader; raises at once when there is no such blob).
BlobSource = Callable[[str], Iterator[bytes]]


@dataclass(frozen=True)
class InputFile:
    """A file to place in /mnt/data before the code runs: its blob's key and size."""

    name: str
    key: str
    size: int


@dataclass(frozen=True)
class ExecutionRequest:
    """One cell of code for one session (a thread), with the files it may read."""

    session: str
    code: str
    owner: str = ""
    files: tuple[InputFile, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionRequest:
        """Rebuild from a Celery message."""
        files = tuple(InputFile(**f) for f in data.get("files", []))
        return cls(data["session"], data["code"], data.get("owner", ""), files)


@dataclass(frozen=True)
class OutputFile:
    """A regular file the code left in /mnt/data (new or changed by this call)."""

    name: str
    data: bytes


@dataclass
class ExecutionResult:
    """Text, figures and files a cell produced; errors are results too, never exceptions."""

    status: Status = "ok"
    logs: str = ""
    images: list[bytes] = field(default_factory=list)
    files: list[OutputFile] = field(default_factory=list)
    error: str | None = None
    duration_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (bytes as base64) for a Celery message."""
        data = asdict(self)
        data["images"] = [base64.b64encode(b).decode() for b in self.images]
        data["files"] = [{"name": f.name, "data": base64.b64encode(f.data).decode()}
                         for f in self.files]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionResult:
        """The inverse of to_json."""
        return cls(status=data["status"], logs=data.get("logs", ""),
                   images=[base64.b64decode(b) for b in data.get("images", [])],
                   files=[OutputFile(f["name"], base64.b64decode(f["data"]))
                          for f in data.get("files", [])],
                   error=data.get("error"), duration_ms=data.get("duration_ms", 0.0))


class SandboxBackend(Protocol):
    """Runs code in per-session isolated interpreters."""

    def execute(self, request: ExecutionRequest,
                cancelled: Callable[[], bool] | None = None) -> ExecutionResult:
        """Run one cell in the request's session (created on first use)."""
        ...

    def discard(self, session: str) -> None:
        """Destroy a session now."""
        ...

    def reap(self) -> int:
        """Remove idle, expired and orphaned sandboxes; how many went."""
        ...

    def close(self) -> None:
        """Destroy every sandbox this backend owns."""
        ...
