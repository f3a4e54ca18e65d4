"""get_store(): the process-wide blob store from Settings."""

from __future__ import annotations

from orchestrator.config import get_settings
from orchestrator.shared import process_wide
from orchestrator.storage.base import BlobStore
from orchestrator.storage.local import LocalBlobStore


@process_wide
def get_store() -> BlobStore:
    """The blob store: a folder `blobs/` under Settings.data_dir."""
    return LocalBlobStore(get_settings().data_dir / "blobs")
