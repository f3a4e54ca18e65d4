"""Blob storage for file contents, keyed by a storage key ("files/<tenant>/<file id>").

Ground: imports only config and shared; everything above may use it.
"""

from orchestrator.storage.base import (
    BlobNotFound,
    BlobStore,
    BlobWriter,
    InvalidKey,
    StorageUnavailable,
)
from orchestrator.storage.factory import get_store

__all__ = ["BlobNotFound", "BlobStore", "BlobWriter", "InvalidKey", "StorageUnavailable",
           "get_store"]
