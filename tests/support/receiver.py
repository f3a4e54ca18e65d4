"""A real HTTP webhook receiver on loopback, scripted by the test (status, delay, redirect)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.servers import free_port


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: str
    at: float
    answered: int


@dataclass
class Answer:
    """How to answer one request."""

    status: int = 200
    delay: float = 0.0
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0  # > 0: send ten header lines this many seconds apart


class Receiver:
    """Threaded http.server; answers follow the script, then 200."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port()
        self.received: list[Received] = []
        self.answers: list[Answer] = []
        self.on_request: Callable[[Received], None] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where to point an endpoint."""
        return f"http://{self.host}:{self.port}/hook"

    def script(self, *answers: Answer) -> None:
        """Answer the next requests like this (in order)."""
        with self._lock:
            self.answers.extend(answers)

    def _next(self) -> Answer:
        with self._lock:
            return self.answers.pop(0) if self.answers else Answer()

    def start(self) -> None:
        """Listen (again) on the same port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if len(raw) < length:  # the sender died mid-request (a test killed it): no
                    return  # request arrived, as for any server, and nothing is answered
                body = raw.decode()
                answer = receiver._next()
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                               body, time.time(), answer.status)
                with receiver._lock:
                    receiver.received.append(got)
                if receiver.on_request is not None:
                    receiver.on_request(got)
                time.sleep(answer.delay)
                data = answer.body.encode()
                if answer.drip:
                    with contextlib.suppress(OSError):
                        self.wfile.write(f"HTTP/1.1 {answer.status} OK\r\n".encode())
                        for i in range(10):
                            self.wfile.write(f"x-drip-{i}: y\r\n".encode())
                            self.wfile.flush()
                            time.sleep(answer.drip)
                        self.wfile.write(f"content-length: {len(data)}\r\n\r\n".encode())
                        self.wfile.write(data)
                    return
                with contextlib.suppress(OSError):
                    self.send_response(answer.status)
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening (connections are refused until start())."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait(self, count: int, timeout: float = 30) -> list[Received]:
        """Block until `count` requests arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"receiver got {len(self.received)} requests, expected {count}")


@contextlib.contextmanager
def receiver(port: int | None = None) -> Iterator[Receiver]:
    """A started receiver, stopped afterwards."""
    rec = Receiver(port)
    rec.start()
    try:
        yield rec
    finally:
        rec.stop()
