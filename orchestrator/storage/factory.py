"""get_store(): the process-wide blob store from Settings (local folder or S3 bucket)."""

from __future__ import annotations

from typing import Any

from orchestrator.config import Settings, get_settings, storage_location
from orchestrator.shared import process_wide
from orchestrator.storage.base import BlobStore
from orchestrator.storage.local import LocalBlobStore

# Connections per process: a threads-pool worker has many calls reading or writing at once.
MAX_CONNECTIONS = 50


def s3_client(s: Settings) -> Any:
    """A boto3 S3 client from the storage settings (unset ones: boto3's own defaults)."""
    import boto3  # deferred: boto3 (~0.3 s to import) only in processes configured for S3
    from botocore.config import Config  # deferred: as boto3

    config = Config(
        s3={"addressing_style": "path" if s.storage_path_style else "auto"},
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=MAX_CONNECTIONS,
        # Checksums only where S3 requires them: S3-compatible services differ in which of
        # the newer integrity headers they accept.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required")
    secret = s.storage_secret_access_key.get_secret_value()
    return boto3.session.Session().client(
        "s3", endpoint_url=s.storage_endpoint_url or None, region_name=s.storage_region or None,
        aws_access_key_id=s.storage_access_key_id or None,
        aws_secret_access_key=secret or None, config=config)


def store_from(s: Settings) -> BlobStore:
    """The store the settings name: S3 for an s3:// ORCH_STORAGE_URL, else data_dir/blobs."""
    if not s.storage_url:
        return LocalBlobStore(s.data_dir / "blobs")
    from orchestrator.storage.s3 import S3BlobStore  # deferred: botocore, only for S3

    bucket, prefix = storage_location(s.storage_url)
    return S3BlobStore(s3_client(s), bucket, prefix, s.storage_part_size)


@process_wide
def get_store() -> BlobStore:
    """The process's blob store (built on first use)."""
    return store_from(get_settings())
