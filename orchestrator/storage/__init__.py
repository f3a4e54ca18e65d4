"""Blob storage for file contents, keyed by a storage key ("files/<tenant>/<file id>")."""

from orchestrator.storage.base import BlobNotFound, BlobStore, BlobWriter, InvalidKey
from orchestrator.storage.factory import get_store

__all__ = ["BlobNotFound", "BlobStore", "BlobWriter", "InvalidKey", "get_store"]
