"""A minimal keep-alive HTTP/1.1 client on asyncio streams: a load generator cheap enough that
the server under test, not the client, is what saturates (httpx costs ~1 ms of CPU a request)."""

from __future__ import annotations

import asyncio
import json as jsonlib
from typing import Any
from urllib.parse import urlencode, urlsplit


class RawResponse:
    """Just what the benchmarks read: status code and body."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    @property
    def text(self) -> str:
        """The body as text."""
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        """The body as JSON."""
        return jsonlib.loads(self.content)


class RawClient:
    """`concurrency` persistent connections handed out from a queue; httpx-like request()."""

    def __init__(self, base_url: str, concurrency: int, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        fixed = {"Host": f"{self.host}:{self.port}", **headers}
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self.size = concurrency
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue())

    async def __aenter__(self) -> RawClient:
        for _ in range(self.size):
            self.pool.put_nowait(None)  # connect lazily
        return self

    async def __aexit__(self, *exc: object) -> None:
        while not self.pool.empty():
            conn = self.pool.get_nowait()
            if conn is not None:
                conn[1].close()

    async def request(self, method: str, url: str, *, params: dict[str, Any] | None = None,
                      json: Any = None) -> RawResponse:
        """Send one request on a pooled connection and read the whole response."""
        target = url + ("?" + urlencode(params) if params else "")
        body = b"" if json is None else jsonlib.dumps(json).encode()
        head = f"{method} {target} HTTP/1.1\r\n{self.fixed}"
        if json is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        elif method != "GET":
            head += "Content-Length: 0\r\n"
        conn = await self.pool.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
            reader, writer = conn
            writer.write(head.encode() + b"\r\n" + body)
            resp, keep = await _read_response(reader)
        except BaseException:
            if conn is not None:
                conn[1].close()
            self.pool.put_nowait(None)
            raise
        if keep:
            self.pool.put_nowait(conn)
        else:
            writer.close()
            self.pool.put_nowait(None)
        return resp


async def _read_response(reader: asyncio.StreamReader) -> tuple[RawResponse, bool]:
    """Parse status line, headers and a Content-Length or chunked body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        content = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        content = await _read_chunked(reader)
    else:
        content = b""
    return RawResponse(status, content), headers.get("connection", "").lower() != "close"


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
