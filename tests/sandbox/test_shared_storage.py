"""File contents in an S3 bucket (moto_server): the API, the run worker and the sandbox worker
each have a data folder of their own and share nothing but the bucket, yet every file's bytes
reach the process that needs them."""

from __future__ import annotations

import io
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.sandbox.conftest import IMAGE, SANDBOX_SETTINGS, SandboxStack, logs_of, run_code
from tests.support.s3_server import S3Server
from tests.support.servers import sqlite_database
from tests.support.stack import Stack, stack

PART = 5 * 1024 * 1024  # the smallest part S3 takes: a 12 MiB upload is three parts
LIMIT = 12 * 1024 * 1024


@dataclass
class Shared:
    """The stack, its sandbox worker (started by the test that needs Docker) and where in the
    bucket its blobs are."""

    box: SandboxStack
    bucket: str
    prefix: str

    def keys(self, s3: S3Server) -> list[str]:
        """The names of the stack's objects."""
        return s3.keys(self.prefix + "/", self.bucket)

    @property
    def st(self) -> Stack:
        """The pipeline."""
        return self.box.st

    def data_dirs(self) -> list[Path]:
        """The API's, the run worker's and the sandbox worker's data folders."""
        return [self.st.api.data_dir, *(self.st.workdir / f"{role}-data"
                                        for role in ("worker", "sandbox"))]


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.fixture(scope="module")
def shared(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """API, beat and a run worker on SQLite, storing under a prefix of a bucket of their own."""
    workdir = tmp_path_factory.mktemp("shared-storage")
    bucket, prefix = "stack-" + secrets.token_hex(4), "blobs"
    s3.client.create_bucket(Bucket=bucket)
    settings = {**SANDBOX_SETTINGS, **s3.settings(prefix, bucket), "ORCH_SANDBOX_IMAGE": IMAGE,
                "ORCH_SANDBOX_STATE_DIR": str(workdir / "sbx"),
                "ORCH_STORAGE_PART_SIZE": str(PART), "ORCH_MAX_UPLOAD_BYTES": str(LIMIT),
                "ORCH_BATCH_FEED_INTERVAL": "0.5", "ORCH_SANDBOX_POOL_SIZE": "1"}
    with sqlite_database(workdir) as url, stack(url, workdir, workers=0, **settings) as st:
        st.start_worker(env={"ORCH_DATA_DIR": str(workdir / "worker-data")})
        box = SandboxStack(st)
        try:
            yield Shared(box, bucket, prefix)
        finally:
            box.stop()


@pytest.fixture()
def sdk(shared: Shared) -> openai.OpenAI:
    """The newest SDK against the stack's API."""
    api = shared.st.api
    return openai.OpenAI(base_url=api.base_url, api_key=api.keys[0], max_retries=0)


def _object_of(s3: S3Server, shared: Shared, file_id: str) -> list[str]:
    return [k for k in shared.keys(s3) if k.endswith("/" + file_id)]


def _wait(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return value


def test_an_uploaded_file_lives_in_the_bucket_only(
        sdk: openai.OpenAI, s3: S3Server, shared: Shared) -> None:
    st, prefix = shared.st, shared.prefix
    data = os.urandom(LIMIT - 1000)  # three parts, the last one short
    up = sdk.files.create(file=("big.bin", data), purpose="assistants")
    assert up.bytes == len(data)
    [key] = _object_of(s3, shared, up.id)
    assert key.startswith(f"{prefix}/files/")
    assert s3.unfinished_uploads(prefix + "/", shared.bucket) == []
    assert sdk.files.content(up.id).read() == data
    assert _files(st.api.data_dir / "blobs") == []  # nothing of it on the API's disk

    # An upload refused midway (over the limit) leaves neither an object nor an open upload.
    before = shared.keys(s3)
    with pytest.raises(openai.APIStatusError) as info:
        sdk.files.create(file=("huge.bin", data + os.urandom(2000)), purpose="assistants")
    assert info.value.status_code == 413
    assert shared.keys(s3) == before and s3.unfinished_uploads(prefix + "/", shared.bucket) == []

    assert sdk.files.delete(up.id).deleted
    _wait(lambda: not _object_of(s3, shared, up.id), timeout=10)
    with pytest.raises(openai.NotFoundError):
        sdk.files.content(up.id)


def test_a_batch_and_a_vector_store_read_and_write_through_the_bucket(
        sdk: openai.OpenAI, s3: S3Server, shared: Shared) -> None:
    asst = sdk.beta.assistants.create(model="scripted-model", instructions="Answer briefly.")
    lines = [{"custom_id": f"q-{i}", "method": "POST", "url": "/v1/threads/runs",
              "body": {"assistant_id": asst.id,
                       "thread": {"messages": [{"role": "user", "content": f"question {i}"}]}}}
             for i in range(3)]
    source = sdk.files.create(file=("input.jsonl", io.BytesIO(
        "".join(json.dumps(x) + "\n" for x in lines).encode())), purpose="batch")
    batch = sdk.batches.create(input_file_id=source.id, endpoint="/v1/threads/runs",  # type: ignore[arg-type]
                               completion_window="24h")
    # The worker indexes a file the API stored.
    doc = sdk.files.create(file=("notes.txt", b"The heron nests by the quiet lake."),
                           purpose="assistants")
    store = sdk.vector_stores.create(name="notes", file_ids=[doc.id])
    vs_file = _wait(lambda: next((f for f in sdk.vector_stores.files.list(store.id).data
                                  if f.status != "in_progress"), None))
    assert vs_file.status == "completed", vs_file.last_error
    hits = sdk.vector_stores.search(store.id, query="heron lake").data
    assert hits and "heron" in hits[0].content[0].text

    done = _wait(lambda: (b := sdk.batches.retrieve(batch.id)).status in (
        "completed", "failed", "expired", "cancelled") and b)
    assert done.status == "completed" and done.output_file_id, done
    # The worker wrote the output file; the API serves it from the bucket.
    out = [json.loads(x) for x in sdk.files.content(done.output_file_id).text.splitlines()]
    assert sorted(x["custom_id"] for x in out) == ["q-0", "q-1", "q-2"]
    assert all(x["response"]["body"]["status"] == "completed" for x in out)
    assert _object_of(s3, shared, done.output_file_id)
    for folder in shared.data_dirs():
        assert _files(folder / "blobs") == [], folder


def test_code_reads_an_upload_and_its_output_is_downloaded(
        sdk: openai.OpenAI, s3: S3Server, shared: Shared, sandbox_image: str) -> None:
    box = shared.box
    box.start_sandbox(env={"ORCH_DATA_DIR": str(shared.data_dirs()[2])})
    scores = sdk.files.create(file=("scores.csv", b"name,score\nada,7\nbob,5\n"),
                              purpose="assistants")
    asst = sdk.beta.assistants.create(model="scripted-model", tools=[{"type": "code_interpreter"}])
    code = ("rows = [r.split(',') for r in open('/mnt/data/scores.csv').read().split()[1:]]\n"
            "print(sum(int(s) for _, s in rows))\n"
            "with open('/mnt/data/doubled.csv', 'w') as f:\n"
            "    f.write('name,score,double\\n')\n"
            "    f.writelines(f'{n},{s},{2 * int(s)}\\n' for n, s in rows)")
    run, step, answer = run_code(
        sdk, box.st, asst.id, code, answer="Here: [doubled](sandbox:/mnt/data/doubled.csv)",
        attachments=[{"file_id": scores.id, "tools": [{"type": "code_interpreter"}]}])
    assert run.status == "completed", (run.last_error, box.log())
    assert "12" in logs_of(step), logs_of(step)
    [link] = [a for a in answer.content[-1].text.annotations if a.type == "file_path"]
    out_id = link.file_path.file_id
    assert sdk.files.content(out_id).read() == b"name,score,double\nada,7,14\nbob,5,10\n"
    assert _object_of(s3, shared, out_id)
    for folder in shared.data_dirs():
        assert _files(folder / "blobs") == [], folder

    # The Responses face: a container file uploaded to the API is read by the code, and the
    # file the code writes is a container file served from the bucket.
    container = sdk.containers.create(name="shared")
    sdk.containers.files.create(container.id, file=("seed.txt", b"41"))
    marker = "resp-" + secrets.token_hex(5)
    box.st.model.script(
        {"match": marker, "on": "user", "times": 1, "reply": {"tool_calls": [{
            "name": "code_interpreter", "arguments": json.dumps({"code": (
                "n = int(open('/mnt/data/seed.txt').read()) + 1\n"
                "open('/mnt/data/answer.txt', 'w').write(str(n))")})}]}},
        {"match": marker, "on": "tool", "times": 1, "reply": {"content": "done"}})
    r = sdk.responses.create(model="scripted-model", input=marker, tools=[
        {"type": "code_interpreter", "container": container.id}])
    assert r.status == "completed", (r.error, box.log())
    [made] = [f for f in sdk.containers.files.list(container.id).data
              if f.path == "/mnt/data/answer.txt"]
    assert sdk.containers.files.content.retrieve(made.id, container_id=container.id).read() == (
        b"42")


def test_a_missing_bucket_is_a_503_to_retry(sdk: openai.OpenAI, s3: S3Server,
                                            shared: Shared) -> None:
    # The store refuses (its bucket is gone, as if it were down): the client is told to retry,
    # in the OpenAI envelope, and no file row is left behind. The bucket is back afterwards.
    bucket = shared.bucket
    for key in s3.keys(bucket=bucket):
        s3.client.delete_object(Bucket=bucket, Key=key)
    s3.client.delete_bucket(Bucket=bucket)
    try:
        with pytest.raises(openai.APIStatusError) as info:
            sdk.files.create(file=("refused.txt", b"hello"), purpose="assistants")
        assert info.value.status_code == 503
        assert info.value.response.headers["retry-after"] == "1"
        assert "file storage" in info.value.message
        assert all(f.filename != "refused.txt" for f in sdk.files.list())
    finally:
        s3.client.create_bucket(Bucket=bucket)
    assert sdk.files.create(file=("refused.txt", b"hello"), purpose="assistants").bytes == 5
