"""Idempotency-Key on POST: a repeat replays the first response and does nothing again."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import create_engine, text

from tests.support.servers import ApiServer

HEADER = "Idempotency-Key"


def _key() -> dict[str, str]:
    return {HEADER: f"test-{uuid.uuid4()}"}


def _names(client: openai.OpenAI, name: str) -> list[str]:
    return [a.id for a in client.beta.assistants.list(limit=100) if a.name == name]


def test_same_key_and_body_replays_without_creating_again(client: openai.OpenAI) -> None:
    key, name = _key(), f"idem-{uuid.uuid4().hex[:8]}"
    first = client.beta.assistants.create(model="m", name=name, extra_headers=key)
    raw = client.beta.assistants.with_raw_response.create(model="m", name=name,
                                                          extra_headers=key)
    again = raw.parse()
    assert again.id == first.id and again.created_at == first.created_at
    assert raw.headers["idempotent-replayed"] == "true"
    assert _names(client, name) == [first.id]


def test_create_thread_and_run_replayed_once(client: openai.OpenAI) -> None:
    """The retry that an outage provokes: /threads/runs must not make a second thread."""
    assistant = client.beta.assistants.create(model="m")
    key = _key()
    body: dict[str, Any] = {"assistant_id": assistant.id,
                            "thread": {"messages": [{"role": "user", "content": "once"}]}}
    first = client.beta.threads.create_and_run(**body, extra_headers=key)
    again = client.beta.threads.create_and_run(**body, extra_headers=key)
    assert (again.id, again.thread_id) == (first.id, first.thread_id)
    assert [r.id for r in client.beta.threads.runs.list(thread_id=first.thread_id)] == [first.id]
    other = client.beta.threads.create_and_run(**body, extra_headers=_key())
    assert other.thread_id != first.thread_id  # a new key is a new request


def test_multipart_upload_replayed_despite_a_new_boundary(client: openai.OpenAI) -> None:
    """HTTP clients draw a new multipart boundary for every attempt; the request is the same."""
    key = _key()
    before = len(client.files.list(purpose="assistants").data)
    first = client.files.create(file=("a.txt", io.BytesIO(b"same bytes")),
                                purpose="assistants", extra_headers=key)
    again = client.files.create(file=("a.txt", io.BytesIO(b"same bytes")),
                                purpose="assistants", extra_headers=key)
    assert again.id == first.id
    assert len(client.files.list(purpose="assistants").data) == before + 1
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("a.txt", io.BytesIO(b"other bytes")), purpose="assistants",
                            extra_headers=key)
    assert caught.value.param == HEADER


def test_same_key_other_body_is_a_400_naming_the_header(client: openai.OpenAI) -> None:
    key, name = _key(), f"idem-{uuid.uuid4().hex[:8]}"
    first = client.beta.assistants.create(model="m", name=name, extra_headers=key)
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.assistants.create(model="m", name=name + "-other", extra_headers=key)
    assert caught.value.param == HEADER
    assert caught.value.code == "idempotency_key_reused"
    assert _names(client, name + "-other") == []
    with pytest.raises(openai.BadRequestError):  # another endpoint is another request
        client.beta.threads.create(extra_headers=key)
    assert client.beta.assistants.create(model="m", name=name, extra_headers=key).id == first.id


def test_keys_are_per_tenant(client: openai.OpenAI, other_client: openai.OpenAI) -> None:
    key, name = _key(), f"idem-{uuid.uuid4().hex[:8]}"
    mine = client.beta.assistants.create(model="m", name=name, extra_headers=key)
    theirs = other_client.beta.assistants.create(model="m", name=name, extra_headers=key)
    assert theirs.id != mine.id
    assert other_client.beta.assistants.create(model="m", name=name,
                                               extra_headers=key).id == theirs.id
    assert client.beta.assistants.create(model="m", name=name, extra_headers=key).id == mine.id
    assert _names(other_client, name) == [theirs.id] and _names(client, name) == [mine.id]
    with pytest.raises(openai.NotFoundError):
        other_client.beta.assistants.retrieve(mine.id)


def test_a_4xx_is_replayed_too(http: httpx.Client) -> None:
    """Stripe's rule: a finished request's result stands, errors included (except 5xx)."""
    key = _key()
    first = http.post("/threads/thread_missing/messages", headers=key,
                      json={"role": "user", "content": "x"})
    again = http.post("/threads/thread_missing/messages", headers=key,
                      json={"role": "user", "content": "x"})
    assert first.status_code == again.status_code == 404
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"


def test_bad_keys_and_unknown_api_keys(http: httpx.Client, server: ApiServer) -> None:
    too_long = http.post("/assistants", headers={HEADER: "k" * 256}, json={"model": "m"})
    assert too_long.status_code == 400
    assert too_long.json()["error"]["param"] == HEADER
    stranger = httpx.post(server.base_url + "/assistants", json={"model": "m"},
                          headers={HEADER: "k", "Authorization": "Bearer sk-unknown"})
    assert stranger.status_code == 401


def _sql(server: ApiServer, sql: str, **params: Any) -> Any:
    """Read (or, to stand in for the passage of time, change) the server's database."""
    engine = create_engine(server.env["ORCH_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def test_a_key_expires_after_24_hours(client: openai.OpenAI, server: ApiServer) -> None:
    key, name = _key(), f"idem-{uuid.uuid4().hex[:8]}"
    first = client.beta.assistants.create(model="m", name=name, extra_headers=key)
    _sql(server, "UPDATE idempotency_keys SET created_at = created_at - 86401 WHERE key = :k",
         k=key[HEADER])
    later = client.beta.assistants.create(model="m", name=name, extra_headers=key)
    assert later.id != first.id
    assert client.beta.assistants.create(model="m", name=name, extra_headers=key).id == later.id


def _held(server: ApiServer, key: str) -> bool:
    return bool(_sql(server, "SELECT count(*) FROM idempotency_keys WHERE key = :k", k=key))


def _upload_parts(boundary: str) -> tuple[bytes, bytes]:
    """A multipart upload's bytes, cut before the file's content."""
    return ((f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
             f"assistants\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\";"
             f" filename=\"slow.txt\"\r\nContent-Type: text/plain\r\n\r\n").encode(),
            f"slow content\r\n--{boundary}--\r\n".encode())


def _multipart(boundary: str) -> dict[str, str]:
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture()
def slow_upload(http: httpx.Client, server: ApiServer) -> Iterator[
        tuple[str, threading.Event, list[httpx.Response]]]:
    """An upload with a key whose body stops halfway until the test lets it go on."""
    key = f"test-{uuid.uuid4()}"
    go_on = threading.Event()
    done: list[httpx.Response] = []
    head, tail = _upload_parts("firstboundary")

    def body() -> Iterator[bytes]:
        yield head
        go_on.wait(timeout=60)
        yield tail

    def upload() -> None:
        done.append(http.post("/files", content=body(),
                              headers={HEADER: key, **_multipart("firstboundary")}))

    worker = threading.Thread(target=upload)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not _held(server, key):
            assert time.monotonic() < deadline, "the first request never claimed its key"
            time.sleep(0.05)
        yield key, go_on, done
    finally:
        go_on.set()
        worker.join(timeout=60)


def test_concurrent_duplicate_is_a_409_while_the_first_runs(
        client: openai.OpenAI, http: httpx.Client,
        slow_upload: tuple[str, threading.Event, list[httpx.Response]]) -> None:
    key, go_on, done = slow_upload
    before = len(client.files.list(purpose="assistants").data)
    with pytest.raises(openai.ConflictError) as caught:
        client.files.create(file=("slow.txt", io.BytesIO(b"slow content")),
                            purpose="assistants", extra_headers={HEADER: key})
    assert caught.value.code == "idempotency_key_in_use"
    assert caught.value.response.headers["retry-after"] == "1"
    go_on.set()
    deadline = time.monotonic() + 30
    while not done:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [first] = done
    assert first.status_code == 200, first.text
    again = http.post("/files", content=b"".join(_upload_parts("otherboundary")),
                      headers={HEADER: key, **_multipart("otherboundary")})
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(client.files.list(purpose="assistants").data) == before + 1
