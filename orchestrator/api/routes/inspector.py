"""/inspector: read-only pages on threads, runs and steps, and on responses and conversations,
signed in with an API key."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from orchestrator.api.deps import DB
from orchestrator.api.downloads import content_disposition
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.errors import APIError, InvalidRequest, NotFound
from orchestrator.faces.assistants.services import files
from orchestrator.inspector import auth, live, views
from orchestrator.inspector import responses as response_views
from orchestrator.inspector.pages import error_page, fragment, page, static_asset
from orchestrator.storage import BlobNotFound

IMAGE_SIGNATURES = [(b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                    (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif")]


def image_type(head: bytes) -> str | None:
    """The raster image type the bytes start with (never SVG, which can carry script)."""
    for signature, kind in IMAGE_SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class PageRoute(UnitOfWorkRoute):
    """Routes answering HTML: a sign-in redirect or an error page instead of a JSON envelope;
    sync endpoints taking `db: DB` run in their unit of work (orchestrator/api/unit_route.py)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler to turn our exceptions into pages."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except auth.SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/inspector/login?next={quote(target, safe='')}", 303)
            except APIError as exc:
                return error_page(request, exc)

        return route


router = APIRouter(prefix="/inspector", tags=["inspector"], route_class=PageRoute,
                   include_in_schema=False)


def signed_in(request: Request) -> str:
    """The tenant of a valid session cookie; otherwise off to the sign-in form."""
    for value in auth.cookie_values(request.headers.get("cookie", "")):
        tenant = auth.tenant_of_session(value)
        if tenant is not None:
            return tenant
    raise auth.SignInRequired


Viewer = Annotated[str, Depends(signed_in)]


def same_origin(request: Request) -> None:
    """Refuse a form post another site made the browser send (the cookie is SameSite too)."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise auth.CrossSiteForm("This form can only be sent from the inspector itself.")


@router.get("/login")
def login_form(request: Request, next: str = "/inspector") -> Response:
    """The sign-in form."""
    return page(request, "login.html", {"next": auth.safe_next(next)})


@router.post("/login")
def login(request: Request, key: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/inspector") -> Response:
    """Exchange an API key for a session cookie; an unknown key gets the form again (401)."""
    same_origin(request)
    value = auth.session_for(key.strip())
    if value is None:
        return page(request, "login.html", {"next": auth.safe_next(next), "error": True}, 401)
    response = RedirectResponse(auth.safe_next(next), 303)
    response.set_cookie(auth.COOKIE, value, max_age=get_settings().inspector_session_seconds,
                        path=auth.COOKIE_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the session."""
    same_origin(request)
    response = RedirectResponse("/inspector/login", 303)
    response.delete_cookie(auth.COOKIE, path=auth.COOKIE_PATH, httponly=True, samesite="strict")
    return response


@router.get("")
def index(request: Request, tenant: Viewer, db: DB, status: str = "", q: str = "",
          before: str = "") -> Response:
    """Recent runs and threads, with a status filter and search by id."""
    if before and not before.isdigit():
        raise InvalidRequest("'before' must be a run position from an 'Older runs' link.",
                             param="before")
    listing = views.listing(db, tenant, status, q, int(before) if before else None)
    return page(request, "index.html", {"listing": listing, "filters": views.FILTERS})


@router.get("/threads/{thread_id}")
def thread(request: Request, thread_id: str, tenant: Viewer, db: DB) -> Response:
    """A thread as a conversation."""
    rec, msgs, runs = views.conversation(db, tenant, thread_id)
    writers = response_views.runs_by_id(db, tenant, [m.run_id for m in msgs])
    return page(request, "thread.html", {"thread": rec, "messages": msgs, "runs": runs,
                                         "writers": writers})


@router.get("/threads/{thread_id}/runs/{run_id}")
def run(request: Request, thread_id: str, run_id: str, tenant: Viewer, db: DB) -> Response:
    """A run as a timeline of its steps."""
    return page(request, "run.html", {"view": views.run_view(db, tenant, thread_id, run_id)})


@router.get("/threads/{thread_id}/runs/{run_id}/events")
def run_events(thread_id: str, run_id: str, tenant: Viewer, db: DB,
               v: int = -1) -> StreamingResponse:
    """SSE: the re-rendered run fragment on every change (`changed`), `end` once it is over."""
    views.run_view(db, tenant, thread_id, run_id)  # 404 unless it is the viewer's

    def state() -> tuple[int, bool] | None:
        with unit_of_work() as session:
            return views.run_state(session, tenant, run_id)

    def render() -> str:
        with unit_of_work() as session:
            return fragment("_run_live.html",
                            {"view": views.run_view(session, tenant, thread_id, run_id)})

    return StreamingResponse(live.changes(run_id, v, state, render),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/responses/{response_id}")
def response(request: Request, response_id: str, tenant: Viewer, db: DB) -> Response:
    """A response: its input and output items, usage or error, and its stored events."""
    view = response_views.response_view(db, tenant, response_id)
    return page(request, "response.html", {"view": view})


@router.get("/responses/{response_id}/events")
def response_events(response_id: str, tenant: Viewer, db: DB,
                    v: int = -1) -> StreamingResponse:
    """SSE: the re-rendered response fragment on every change, `end` once it is over."""
    response_views.get_response(db, tenant, response_id)  # 404 unless it is the viewer's

    def state() -> tuple[int, bool] | None:
        with unit_of_work() as session:
            return views.run_state(session, tenant, response_id)

    def render() -> str:
        with unit_of_work() as session:
            return fragment("_response_live.html", {
                "view": response_views.response_view(session, tenant, response_id)})

    return StreamingResponse(live.changes(response_id, v, state, render),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/conversations/{conversation_id}")
def conversation(request: Request, conversation_id: str, tenant: Viewer, db: DB) -> Response:
    """A conversation's items in order, each with the response or run that wrote it."""
    view = response_views.conversation_view(db, tenant, conversation_id)
    return page(request, "conversation.html", {"view": view})


@router.get("/files/{file_id}")
def file_content(file_id: str, tenant: Viewer, db: DB) -> Response:
    """A file's bytes: common raster images inline (for <img>), anything else as a download."""
    try:
        rec, size, chunks = files.content(db, tenant, file_id)
    except BlobNotFound as exc:
        raise NotFound(f"The contents of file '{file_id}' are missing.") from exc
    head = next(chunks, b"")
    kind = image_type(head)
    headers = {"Content-Length": str(size), "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; sandbox",
               "Cache-Control": "private, max-age=3600",
               "Content-Disposition": "inline" if kind else content_disposition(rec.filename)}
    return StreamingResponse(itertools.chain([head], chunks),
                             media_type=kind or "application/octet-stream", headers=headers)


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The stylesheet, the script and htmx."""
    found = static_asset(name)
    if found is None:
        raise NotFound(f"No inspector asset named '{name}'.")
    body, kind = found
    return Response(body, media_type=kind, headers={"Cache-Control": "public, max-age=3600",
                                                    "X-Content-Type-Options": "nosniff"})
