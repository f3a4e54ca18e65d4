"""Jinja2 templates, their filters, security headers and the static assets of the inspector."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from orchestrator.errors import APIError
from orchestrator.faces.responses import mappers as response_mappers
from orchestrator.inspector.responses import href, is_response

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:;"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make form posts send Origin: null
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}


def iso(epoch: int | float | None) -> str:
    """An epoch as ISO 8601 in UTC (the <time datetime> value; the browser shows local time)."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def utc_text(epoch: int | float | None) -> str:
    """A readable UTC fallback for browsers without JavaScript."""
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(value: int | float | None) -> str:
    """A duration in whole seconds, readable."""
    if value is None:
        return "—"
    if value < 1:
        return "< 1 s"
    minutes, secs = divmod(int(value), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def pretty(value: Any) -> str:
    """JSON (or a string holding JSON) indented for reading; other text as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
        if isinstance(value, str):
            return value
    return json.dumps(value, indent=2, ensure_ascii=False)


templates.env.filters.update(iso=iso, utc_text=utc_text, seconds=seconds, pretty=pretty,
                             href=href, response_status=response_mappers.status)
templates.env.tests["response"] = is_response


def page(request: Request, name: str, context: dict[str, Any] | None = None,
         status_code: int = 200) -> Response:
    """Render a template with the inspector's security headers."""
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code,
                                      headers=PAGE_HEADERS)


def fragment(name: str, context: dict[str, Any]) -> str:
    """A template rendered outside a request (for the live stream)."""
    return templates.get_template(name).render(context)


def error_page(request: Request, exc: APIError) -> Response:
    """A domain error as a page (404 for another tenant's ids, as the API answers)."""
    return page(request, "error.html", {"status": exc.status_code, "message": exc.message},
                exc.status_code)


def static_asset(name: str) -> tuple[bytes, str] | None:
    """Our stylesheet and script, and htmx from its package; None for anything else."""
    if name == "htmx.min.js":
        ref = resources.files("js_lib_htmx").joinpath("static/htmx/htmx.min.js")
        return ref.read_bytes(), "text/javascript"
    path = HERE / "static" / name
    kind = STATIC_TYPES.get(path.suffix)
    if kind is None or path.parent != HERE / "static" or not path.is_file():
        return None
    return path.read_bytes(), kind
