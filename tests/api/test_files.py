"""Files API through the official SDK and raw multipart: upload, list, download, delete, limits."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.servers import ApiServer, api_server, postgres_database, sqlite_database

FILE_FIELDS = {"id", "object", "bytes", "created_at", "filename", "purpose", "status",
               "status_details", "expires_at"}
SMALL_LIMIT = 1024


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "xyzBOUNDARYzyx",
              close: bool = True) -> tuple[bytes, dict[str, str]]:
    """A hand-made multipart body (name, filename or None, value) and its Content-Type."""
    out = b""
    for name, filename, value in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + value + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return out, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def error_of(resp: httpx.Response) -> dict[str, str]:
    """The OpenAI error envelope's inner object."""
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


def blobs(server: ApiServer) -> list[Path]:
    """Every regular file the server's blob store holds (temp files included)."""
    return [p for p in (server.data_dir / "blobs").rglob("*") if p.is_file()]


@pytest.fixture()
def files_http(server: ApiServer) -> Iterator[httpx.Client]:
    """Raw HTTP as the SDK talks to /files: bearer key, no OpenAI-Beta header."""
    with httpx.Client(base_url=server.base_url, timeout=60,
                      headers={"Authorization": f"Bearer {server.keys[0]}"}) as c:
        yield c


def test_sdk_upload_retrieve_list_download_delete(client: openai.OpenAI,
                                                  files_http: httpx.Client) -> None:
    data = b"The capital of France is Paris.\n" * 100
    up = client.files.create(file=("notes.txt", data), purpose="assistants")
    assert up.id.startswith("file-") and up.object == "file"
    assert up.bytes == len(data) and up.filename == "notes.txt"
    assert up.purpose == "assistants" and up.status == "processed"
    assert up.expires_at is None and up.status_details is None
    raw = files_http.get(f"/files/{up.id}").json()
    assert set(raw) == FILE_FIELDS and raw["expires_at"] is None
    assert client.files.retrieve(up.id) == up
    assert up.id in [f.id for f in client.files.list(purpose="assistants")]
    assert up.id not in [f.id for f in client.files.list(purpose="batch")]
    assert client.files.content(up.id).read() == data

    deleted = client.files.delete(up.id)
    assert deleted.id == up.id and deleted.deleted and deleted.object == "file"
    with pytest.raises(openai.NotFoundError) as exc:
        client.files.retrieve(up.id)
    assert exc.value.body == {"message": f"No such File object: {up.id}",
                              "type": "invalid_request_error", "param": "id", "code": None}
    with pytest.raises(openai.NotFoundError):
        client.files.content(up.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(up.id)
    assert up.id not in [f.id for f in client.files.list()]


def test_blob_is_removed_with_the_file(client: openai.OpenAI, server: ApiServer) -> None:
    up = client.files.create(file=("gone.txt", b"bytes on disk"), purpose="assistants")
    assert [p for p in blobs(server) if p.name == up.id]
    client.files.delete(up.id)
    assert not [p for p in blobs(server) if p.name == up.id]


def test_download_headers_and_filenames(files_http: httpx.Client) -> None:
    cases = {"../../etc/passwd": "passwd", "C:\\Users\\me\\report.pdf": "report.pdf",
             "résumé 2024.txt": "résumé 2024.txt", "semi;colon.txt": "semi;colon.txt"}
    for sent, kept in cases.items():
        resp = files_http.post("/files", data={"purpose": "assistants"},
                               files={"file": (sent, b"abc", "text/plain")})
        assert resp.status_code == 200, resp.text
        file_id = resp.json()["id"]
        assert resp.json()["filename"] == kept
        got = files_http.get(f"/files/{file_id}/content")
        assert got.status_code == 200 and got.content == b"abc"
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-length"] == "3"
        disposition = got.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        if kept.isascii():
            assert f'filename="{kept}"' in disposition
        else:
            assert "filename*=utf-8''r%C3%A9sum%C3%A9%202024.txt" in disposition


def test_expires_after(client: openai.OpenAI, files_http: httpx.Client) -> None:
    up = client.files.create(file=("b.jsonl", b"{}\n"), purpose="batch",
                             expires_after={"anchor": "created_at", "seconds": 7200})
    assert up.expires_at == up.created_at + 7200
    assert client.files.retrieve(up.id).expires_at == up.expires_at
    bad = [
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "3599"},
         "expires_after.seconds"),
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "2592001"},
         "expires_after.seconds"),
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "soon"},
         "expires_after.seconds"),
        ({"expires_after[anchor]": "last_used", "expires_after[seconds]": "3600"},
         "expires_after.anchor"),
        ({"expires_after[seconds]": "3600"}, "expires_after.anchor"),
        ({"expires_after[anchor]": "created_at"}, "expires_after.seconds"),
    ]
    for fields, param in bad:
        resp = files_http.post("/files", data={"purpose": "batch", **fields},
                               files={"file": ("b.jsonl", b"{}\n")})
        assert resp.status_code == 400, fields
        assert error_of(resp)["param"] == param


@pytest.mark.parametrize("purpose", ["assistants", "batch", "vision", "user_data"])
def test_upload_purposes(client: openai.OpenAI, purpose: str) -> None:
    up = client.files.create(file=("p.bin", b"\x00\x01"), purpose=purpose)  # type: ignore[arg-type]
    assert up.purpose == purpose
    assert up.id in [f.id for f in client.files.list(purpose=purpose)]


@pytest.mark.parametrize("purpose", ["assistants_output", "batch_output", "fine-tune",
                                     "nonsense", ""])
def test_rejected_purposes(files_http: httpx.Client, server: ApiServer, purpose: str) -> None:
    before = len(blobs(server))
    resp = files_http.post("/files", data={"purpose": purpose}, files={"file": ("a.txt", b"x")})
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["param"] == "purpose" and err["type"] == "invalid_request_error"
    if purpose.endswith("_output"):
        assert "server" in err["message"]
    assert len(blobs(server)) == before


def test_missing_and_malformed_parts(files_http: httpx.Client, server: ApiServer) -> None:
    before = len(blobs(server))
    resp = files_http.post("/files", data={"purpose": "assistants"},
                           files={"other": ("a.txt", b"x")})
    assert resp.status_code == 400 and error_of(resp)["param"] == "other"
    cases: list[tuple[list[tuple[str, str | None, bytes]], bool, str | None]] = [
        ([("purpose", None, b"assistants")], True, "file"),
        ([("file", "a.txt", b"data")], True, "purpose"),
        ([("purpose", None, b"assistants"), ("file", "a.txt", b"1"), ("file", "b.txt", b"2")],
         True, "file"),
        ([("purpose", None, b"assistants"), ("file", "a.txt", b"data")], False, None),
        ([("purpose", None, b"assistants" * 200), ("file", "a.txt", b"data")], True, "purpose"),
    ]
    for parts, close, param in cases:
        body, headers = multipart(parts, close=close)
        resp = files_http.post("/files", content=body, headers=headers)
        assert resp.status_code == 400, parts
        assert error_of(resp)["param"] == param
    resp = files_http.post("/files", json={"purpose": "assistants", "file": "abc"})
    assert resp.status_code == 400 and "multipart/form-data" in error_of(resp)["message"]
    resp = files_http.post("/files", content=b"x",
                           headers={"Content-Type": "multipart/form-data"})
    assert resp.status_code == 400 and "boundary" in error_of(resp)["message"]
    assert len(blobs(server)) == before


def test_zero_byte_file(client: openai.OpenAI) -> None:
    up = client.files.create(file=("empty.txt", b""), purpose="assistants")
    assert up.bytes == 0 and up.filename == "empty.txt"
    assert client.files.content(up.id).read() == b""


def test_file_part_before_purpose(files_http: httpx.Client) -> None:
    body, headers = multipart([("file", "late.txt", b"file first"),
                               ("purpose", None, b"vision")])
    resp = files_http.post("/files", content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["purpose"] == "vision" and resp.json()["bytes"] == 10


def test_list_order_limit_and_cursors(client: openai.OpenAI, files_http: httpx.Client) -> None:
    made = [client.files.create(file=(f"{i}.txt", b"x"), purpose="user_data").id
            for i in range(3)]
    newest = files_http.get("/files", params={"purpose": "user_data", "limit": 2}).json()
    assert [f["id"] for f in newest["data"]] == made[:0:-1] and newest["has_more"] is True
    assert newest["object"] == "list" and newest["first_id"] == made[2]
    rest = files_http.get("/files", params={"purpose": "user_data", "limit": 1,
                                            "after": made[1]}).json()
    assert [f["id"] for f in rest["data"]] == [made[0]]
    asc = files_http.get("/files", params={"purpose": "user_data", "order": "asc",
                                           "after": made[0]}).json()
    assert [f["id"] for f in asc["data"]] == made[1:]
    before = files_http.get("/files", params={"purpose": "user_data", "before": made[0]}).json()
    assert [f["id"] for f in before["data"]] == made[:0:-1]
    assert made[0] in [f.id for f in client.files.list(purpose="user_data", limit=1)]
    for limit in (0, 10_001):
        resp = files_http.get("/files", params={"limit": limit})
        assert resp.status_code == 400 and error_of(resp)["param"] == "limit"
    assert files_http.get("/files", params={"limit": 10_000}).status_code == 200


def test_files_belong_to_their_tenant(client: openai.OpenAI,
                                      other_client: openai.OpenAI) -> None:
    mine = client.files.create(file=("secret.txt", b"top secret"), purpose="assistants")
    for call in (other_client.files.retrieve, other_client.files.content,
                 other_client.files.delete):
        with pytest.raises(openai.NotFoundError) as exc:
            call(mine.id)
        assert exc.value.body["message"] == f"No such File object: {mine.id}"  # type: ignore[index]
    assert mine.id not in [f.id for f in other_client.files.list()]
    assert client.files.content(mine.id).read() == b"top secret"


def test_unauthenticated_upload_is_refused(server: ApiServer) -> None:
    resp = httpx.post(server.base_url + "/files", data={"purpose": "assistants"},
                      files={"file": ("a.txt", b"x")})
    assert resp.status_code == 401 and error_of(resp)["type"] == "invalid_request_error"


def test_openapi_declares_multipart_upload(server: ApiServer) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    body = spec["paths"]["/v1/files"]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert set(schema["required"]) == {"file", "purpose"}
    assert schema["properties"]["file"]["format"] == "binary"
    assert "assistants" in schema["properties"]["purpose"]["enum"]
    assert "assistants_output" not in schema["properties"]["purpose"]["enum"]


@pytest.fixture(scope="module")
def small_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A second server whose upload limit is SMALL_LIMIT bytes."""
    workdir = tmp_path_factory.mktemp(f"small-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with db as url, api_server(url, workdir, ORCH_MAX_UPLOAD_BYTES=str(SMALL_LIMIT)) as srv:
        yield srv


def test_upload_limit(small_server: ApiServer) -> None:
    sdk = openai.OpenAI(base_url=small_server.base_url, api_key=small_server.keys[0],
                        max_retries=0)
    at_limit = sdk.files.create(file=("ok.bin", b"a" * SMALL_LIMIT), purpose="assistants")
    assert at_limit.bytes == SMALL_LIMIT
    with pytest.raises(openai.APIStatusError) as exc:
        sdk.files.create(file=("big.bin", b"a" * (SMALL_LIMIT + 1)), purpose="assistants")
    assert exc.value.status_code == 413
    assert exc.value.body == {
        "message": f"The file is too large: uploads are limited to {SMALL_LIMIT} bytes.",
        "type": "invalid_request_error", "param": "file", "code": None}
    assert [f.id for f in sdk.files.list()] == [at_limit.id]
    assert [p.name for p in blobs(small_server)] == [at_limit.id]


def test_oversized_stream_is_cut_off(small_server: ApiServer) -> None:
    stored = sorted(p.name for p in blobs(small_server))
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        head, _ = multipart([("purpose", None, b"assistants")], close=False)
        yield head + b'--xyzBOUNDARYzyx\r\nContent-Disposition: form-data; name="file";' \
                     b' filename="huge.bin"\r\n\r\n'
        for _ in range(4096):  # 256 MiB if nobody stopped it
            sent += 65536
            yield b"z" * 65536
        yield b"\r\n--xyzBOUNDARYzyx--\r\n"

    resp = httpx.post(small_server.base_url + "/files", content=endless(), timeout=60, headers={
        "Authorization": f"Bearer {small_server.keys[0]}",
        "Content-Type": "multipart/form-data; boundary=xyzBOUNDARYzyx"})
    assert resp.status_code == 413 and error_of(resp)["param"] == "file"
    assert resp.headers["connection"] == "close"
    assert sent < 64 * 1024 * 1024, f"the server read {sent} bytes of a refused upload"
    declared = httpx.post(small_server.base_url + "/files", content=b"x" * 100_000, headers={
        "Authorization": f"Bearer {small_server.keys[0]}",
        "Content-Type": "multipart/form-data; boundary=xyzBOUNDARYzyx"})
    assert declared.status_code == 413 and error_of(declared)["param"] == "file"
    assert sorted(p.name for p in blobs(small_server)) == stored
    sdk = openai.OpenAI(base_url=small_server.base_url, api_key=small_server.keys[0])
    assert sorted(f.id for f in sdk.files.list()) == stored


def _peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines()
                if line.startswith("VmHWM:"))


@pytest.mark.slow
def test_large_upload_is_streamed(server: ApiServer, files_http: httpx.Client) -> None:
    size, chunk = 64 * 1024 * 1024, b"0123456789abcdef" * 4096
    warm = files_http.post("/files", data={"purpose": "assistants"}, files={"file": ("w", b"w")})
    files_http.get(f"/files/{warm.json()['id']}/content")  # first-use imports and caches
    files_http.delete(f"/files/{warm.json()['id']}")
    pid = server.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak-RSS counter
    base = _peak_rss_kib(pid)
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        head, _ = multipart([("purpose", None, b"assistants")], close=False)
        yield head + b'--xyzBOUNDARYzyx\r\nContent-Disposition: form-data; name="file";' \
                     b' filename="big.bin"\r\n\r\n'
        for _ in range(size // len(chunk)):
            digest.update(chunk)
            yield chunk
        yield b"\r\n--xyzBOUNDARYzyx--\r\n"

    resp = files_http.post("/files", content=body(), headers={
        "Content-Type": "multipart/form-data; boundary=xyzBOUNDARYzyx"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["bytes"] == size
    down = hashlib.sha256()
    with files_http.stream("GET", f"/files/{resp.json()['id']}/content") as got:
        assert got.headers["content-length"] == str(size)
        for part in got.iter_bytes():
            down.update(part)
    assert down.hexdigest() == digest.hexdigest()
    growth_mib = (_peak_rss_kib(pid) - base) / 1024
    print(f"peak RSS growth {growth_mib:.1f} MiB")
    assert growth_mib < 8, f"server peak RSS grew {growth_mib:.1f} MiB for a 64 MiB upload"
    files_http.delete(f"/files/{resp.json()['id']}")
