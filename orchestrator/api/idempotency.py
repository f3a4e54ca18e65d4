"""`Idempotency-Key` on POST /v1/*, with Stripe's semantics, as a pure ASGI middleware.

The first request with a key claims it (a unique row per tenant and key), runs, and its response
(status, headers, body) is recorded; the same key and the same request within the key's
lifetime (24 h) gets that response again without running anything (`Idempotent-Replayed:
true`). The same key with another request (method, path, query, `OpenAI-Beta` or body) is a 400
naming the header; while the first request still runs, a duplicate is a 409 with Retry-After
(the openai SDK retries those). Not recorded, so a retry runs afresh: 5xx (nothing or not
everything was done), 409 and 429 (transient), responses whose request body the handler did not
read to its end, responses over MAX_RECORDED_BYTES, and streams (SSE): a stream cannot be
replayed from a record, and a run created by a stream is followed by GET, not by a retry.

The body is hashed as it passes to the handler (uploads are never buffered); multipart
boundaries, which every HTTP client draws afresh for each attempt, are left out of the hash.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator import tenancy
from orchestrator.api import idempotency_store as store
from orchestrator.api.errors import database_unreachable, error_response, unavailable_response
from orchestrator.errors import APIError, Conflict, InvalidRequest

log = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
MAX_RECORDED_BYTES = 1024 * 1024
NOT_RECORDED = frozenset({409, 429})


class Fingerprint:
    """SHA-256 of what makes two requests the same request, fed with the body as it streams."""

    def __init__(self, scope: Scope, headers: Headers) -> None:
        self._hash = hashlib.sha256()
        content_type = headers.get("content-type", "")
        for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode(
                "latin-1"), headers.get("openai-beta", ""), content_type.split(";")[0]):
            self._hash.update(part.strip().encode("utf-8", "replace") + b"\0")
        boundary = _boundary(content_type)
        self._boundary = boundary.encode("latin-1") if boundary else b""
        self._pending = b""
        self.complete = False  # the whole body went through

    def feed(self, message: Message) -> None:
        """Hash an `http.request` message's body."""
        data = self._pending + message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self._boundary:
            data = data.replace(self._boundary, b"")
            split = max(len(data) - (len(self._boundary) - 1), 0) if more else len(data)
            data, self._pending = data[:split], data[split:]
        self._hash.update(data)
        self.complete = not more

    def hexdigest(self) -> str:
        """The fingerprint."""
        return self._hash.hexdigest()


def _boundary(content_type: str) -> str | None:
    if not content_type.lower().startswith("multipart/"):
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary":
            return value.strip('"') or None
    return None


def _tenant(headers: Headers) -> str | None:
    authorization = headers.get("authorization", "")
    if not authorization.lower().startswith("bearer "):
        return None
    return tenancy.resolve(authorization[7:].strip())


class IdempotencyMiddleware:
    """Replay the recorded response of a repeated POST that carries an Idempotency-Key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through unless the request is a POST under /v1/ with a key and a known tenant."""
        if scope["type"] != "http" or scope["method"] != "POST" \
                or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        tenant = _tenant(headers) if key is not None else None
        if key is None or tenant is None:  # no key, or a bad API key: the app answers the 401
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            await _refuse(InvalidRequest(
                f"Invalid '{HEADER}' header: it must be 1 to {MAX_KEY_LENGTH} characters long.",
                param=HEADER, code="invalid_idempotency_key"), scope, receive, send)
            return
        try:
            claim = await run_in_threadpool(store.claim, tenant, key)
        except SQLAlchemyError as exc:
            if not database_unreachable(exc):
                raise
            await unavailable_response(exc)(scope, receive, send)
            return
        if isinstance(claim, store.InFlight):
            await _refuse(Conflict(
                f"There is currently another in-progress request using the {HEADER} '{key}'"
                " (a request sent twice, and the first is still going through). Please try"
                " again later.", param=HEADER, code="idempotency_key_in_use"),
                scope, receive, send)
        elif isinstance(claim, store.Stored):
            await _replay(claim, key, scope, receive, send, Fingerprint(scope, headers))
        else:
            await _Recorder(self.app, tenant, key, claim, Fingerprint(scope, headers)).run(
                scope, receive, send)


async def _refuse(exc: APIError, scope: Scope, receive: Receive, send: Send) -> None:
    await error_response(exc)(scope, receive, send)


async def _replay(stored: store.Stored, key: str, scope: Scope, receive: Receive, send: Send,
                  fingerprint: Fingerprint) -> None:
    """Read the body for its fingerprint; the recorded response if it matches, else a 400."""
    while not fingerprint.complete:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        fingerprint.feed(message)
    if fingerprint.hexdigest() != stored.request_hash:
        await _refuse(InvalidRequest(
            f"Keys for idempotent requests can only be used with the same parameters they were"
            f" first used with. Try using a key other than '{key}' if you meant to execute a"
            " different request.", param=HEADER, code="idempotency_key_reused"),
            scope, receive, send)
        return
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers]
    await send({"type": "http.response.start", "status": stored.status_code,
                "headers": [*raw, (b"idempotent-replayed", b"true")]})
    await send({"type": "http.response.body", "body": stored.body})


class _Recorder:
    """Run the request holding the claim; record its response, or give the key up."""

    def __init__(self, app: ASGIApp, tenant: str, key: str, claim: store.Claimed,
                 fingerprint: Fingerprint) -> None:
        self.app, self.tenant, self.key, self.claim = app, tenant, key, claim
        self.fingerprint = fingerprint
        self.status = 0
        self.headers: list[Any] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.recording = False
        self.settled = False  # recorded or released

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app under the claim; whatever happens, the claim does not outlive the request."""

        async def hashing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.fingerprint.feed(message)
            return message

        async def recording_send(message: Message) -> None:
            await self._observe(message)
            await send(message)

        try:
            await self.app(scope, hashing_receive, recording_send)
        finally:
            if not self.settled:
                await self._settle(record=False)

    async def _observe(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [[n.decode("latin-1"), v.decode("latin-1")]
                            for n, v in message.get("headers", [])]
            streamed = Headers(raw=message.get("headers", [])).get(
                "content-type", "").startswith("text/event-stream")
            self.recording = self.status < 500 and self.status not in NOT_RECORDED \
                and not streamed
            if not self.recording:
                await self._settle(record=False)  # a retry may run at once
            return
        if message["type"] != "http.response.body" or not self.recording:
            return
        body = message.get("body", b"")
        self.size += len(body)
        self.chunks.append(body)
        if self.size > MAX_RECORDED_BYTES:
            self.recording = False
            await self._settle(record=False)
        elif not message.get("more_body", False):  # recorded before the client has it
            await self._settle(record=self.fingerprint.complete)

    async def _settle(self, *, record: bool) -> None:
        self.settled = True
        try:
            if record:
                await run_in_threadpool(store.complete, self.tenant, self.key, self.claim,
                                        self.fingerprint.hexdigest(), self.status,
                                        self.headers, b"".join(self.chunks))
            else:
                await run_in_threadpool(store.release, self.tenant, self.key, self.claim)
        except SQLAlchemyError as exc:  # the response stands; the claim lapses by itself
            log.warning("idempotency key of %s not %s: %s", self.tenant,
                        "recorded" if record else "released", type(exc).__name__)
