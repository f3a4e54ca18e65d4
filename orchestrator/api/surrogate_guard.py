"""ASGI middleware: a JSON body holding a lone UTF-16 surrogate is a 400, before any route.

One check for every field, free-form ones included (metadata, function parameters, queries):
the body is read once, tested with a cheap byte filter, and decoded and walked only when the
filter says a surrogate is possible. It sees the bodies FastAPI decodes as JSON (no content
type, application/json, application/*+json); multipart fields are decoded strictly as UTF-8
(orchestrator/faces/assistants/uploads.py), so they cannot hold one.
"""

from __future__ import annotations

import json

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator import surrogates

METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or (
                kind.startswith(b"application/") and kind.endswith(b"+json"))
    return True  # FastAPI decodes a body without a content type as JSON


def problem(body: bytes) -> JSONResponse | None:
    """The 400 for a body holding a lone surrogate, or None (also for bodies that are not
    JSON at all: the route answers those as before)."""
    if not body or not surrogates.may_hold(body):
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    where = surrogates.find(document)
    if where is None:
        return None
    return JSONResponse(status_code=400, content=surrogates.refusal(where).body())


class RefuseLoneSurrogates:
    """Buffer a JSON body, refuse it if it holds a lone surrogate, else replay it unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        if message["type"] == "http.request":  # the whole body is here
            response = problem(b"".join(m.get("body", b"") for m in received))
            if response is not None:
                await response(scope, receive, send)
                return

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)
