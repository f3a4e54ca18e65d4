"""Exception handlers: every error leaves as the OpenAI envelope; FastAPI's 422 never does."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator.errors import APIError, InvalidRequest, ServiceUnavailable
from orchestrator.storage import StorageUnavailable
from orchestrator.validation import TAGS, invalid_request

log = logging.getLogger(__name__)
# SQLite's transient failures; its other OperationalErrors (syntax, no such table) are bugs.
SQLITE_TRANSIENT = ("database is locked", "database table is locked", "disk i/o error",
                    "unable to open database file")


def database_unreachable(exc: BaseException) -> bool:
    """True for a lost or unreachable database (connection closed mid-request, server down,
    pool exhausted, SQLite busy): the client should retry, the code has no bug."""
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    if not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):
        return str(exc.orig).lower().startswith(SQLITE_TRANSIENT)
    return isinstance(exc, sa_exc.OperationalError) or "closed" in str(exc.orig).lower()


def unavailable_response(exc: BaseException) -> JSONResponse:
    """The 503 of a lost database connection, with Retry-After (logged as one line)."""
    log.warning("database unreachable during a request: %s: %s", type(exc).__name__,
                str(getattr(exc, "orig", None) or exc).splitlines()[0])
    err = ServiceUnavailable("The server lost its connection to the database while processing"
                             " your request. Please retry the request in a moment.")
    return error_response(err)


def error_response(exc: APIError) -> JSONResponse:
    """A domain error as OpenAI's envelope (503s and 409s say when to retry)."""
    headers = None if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
    return JSONResponse(status_code=exc.status_code, content=exc.body(), headers=headers)


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(status_code=status, content=body)


def install(app: FastAPI, union_tags: frozenset[str] = frozenset()) -> None:
    """Register the handlers on the app (`union_tags`: the faces' discriminator values)."""
    TAGS.update(union_tags)

    @app.exception_handler(APIError)
    async def _api_error(_req: Request, exc: APIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return _json(400, invalid_request(list(exc.errors())).body())

    @app.exception_handler(DataError)
    async def _data(_req: Request, exc: DataError) -> JSONResponse:
        # e.g. a NUL byte PostgreSQL cannot store or compare: the client's input, not a bug.
        log.info("rejected input the database cannot take: %s", exc.orig)
        return _json(400, InvalidRequest(
            "The request contains a value the server cannot store (for example a NUL"
            " character).").body())

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def _database(_req: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
        if database_unreachable(exc):
            return unavailable_response(exc)
        return _server_error(exc)

    @app.exception_handler(StorageUnavailable)
    async def _storage(_req: Request, exc: StorageUnavailable) -> JSONResponse:
        # The bucket (or the disk) is unreachable: a moment's outage, not the client's fault.
        log.warning("blob store unavailable during a request: %s", exc)
        return error_response(ServiceUnavailable(
            "The server could not reach its file storage while processing your request."
            " Please retry the request in a moment."))

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (404, 405):
            message = f"Invalid URL ({req.method} {req.url.path})"
        else:
            message = str(exc.detail)
        return _json(exc.status_code, {"error": {"message": message,
                                                 "type": "invalid_request_error",
                                                 "param": None, "code": None}})

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        return _server_error(exc)


def _server_error(exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered with OpenAI's generic 500."""
    log.exception("unhandled error", exc_info=exc)
    return _json(500, {"error": {"message": "The server had an error while processing your"
                                 " request.", "type": "server_error", "param": None,
                                 "code": "server_error"}})
