"""A private S3-protocol server (moto's standalone server) with one bucket, for the S3 store."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

from tests.support.servers import BIN, free_port, stop_process

ACCESS_KEY, SECRET_KEY, REGION = "testing-key", "testing-secret", "us-east-1"


@dataclass
class S3Server:
    """moto_server on a free loopback port; `bucket` exists from the start."""

    endpoint: str
    bucket: str
    process: subprocess.Popen[bytes]

    @cached_property
    def client(self) -> Any:
        """A boto3 client on the server (path-style, the test credentials)."""
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}))

    def settings(self, prefix: str, bucket: str = "") -> dict[str, str]:
        """The ORCH_STORAGE_* settings of a process storing under `prefix` in the bucket (or
        in another one)."""
        return {"ORCH_STORAGE_URL": f"s3://{bucket or self.bucket}/{prefix}",
                "ORCH_STORAGE_ENDPOINT_URL": self.endpoint, "ORCH_STORAGE_REGION": REGION,
                "ORCH_STORAGE_ACCESS_KEY_ID": ACCESS_KEY,
                "ORCH_STORAGE_SECRET_ACCESS_KEY": SECRET_KEY, "ORCH_STORAGE_PATH_STYLE": "1"}

    def keys(self, prefix: str = "", bucket: str = "") -> list[str]:
        """Every object's name under `prefix`."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket or self.bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def unfinished_uploads(self, prefix: str = "", bucket: str = "") -> list[str]:
        """Names of multipart uploads under `prefix` never completed nor aborted."""
        out = self.client.list_multipart_uploads(Bucket=bucket or self.bucket, Prefix=prefix)
        return [u["Key"] for u in out.get("Uploads", [])]


@contextlib.contextmanager
def s3_server(workdir: Path) -> Iterator[S3Server]:
    """Start moto_server, create a bucket, stop the server afterwards (its data is in memory)."""
    binary = shutil.which("moto_server", path=str(BIN)) or str(Path(sys.executable).parent
                                                              / "moto_server")
    port = free_port()
    log = (workdir / f"moto-{port}.log").open("wb")
    proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    server = S3Server(f"http://127.0.0.1:{port}", "orch-" + secrets.token_hex(4), proc)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "moto_server exited"
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(server.endpoint + "/moto-api/", timeout=1)
                break
            assert time.monotonic() < deadline, "moto_server did not start"
            time.sleep(0.1)
        server.client.create_bucket(Bucket=server.bucket)
        yield server
    finally:
        stop_process(proc)
        log.close()
