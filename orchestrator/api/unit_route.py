"""Routes whose sync endpoints take `db: DB` get their unit of work on the endpoint's own thread.

As a FastAPI dependency with `yield`, the session was opened on one thread-pool trip, used on a
second (the endpoint) and committed on a third, after the endpoint had returned. Between the
second and the third it held its pooled database connection while waiting for a free thread,
and the threads could all be waiting for a connection: with more concurrent requests than
threads (40) and connections (30), the API stood still until the pool's 30 s timeout
(bench/bench_clients.py, 500 clients). Here the endpoint runs inside `unit_of_work()` on one
thread: the connection is taken, committed and given back before that thread is let go, and
two trips to the pool are saved. The endpoint's signature, as FastAPI sees it, lacks `db`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute

from orchestrator.api.deps import DB
from orchestrator.db import unit_of_work


def _session_param(endpoint: Callable[..., Any]) -> str | None:
    """The name of the endpoint's `DB` parameter, if it has one."""
    for name, param in inspect.signature(endpoint).parameters.items():
        annotation = param.annotation
        if isinstance(annotation, str):  # `from __future__ import annotations`
            annotation = getattr(endpoint, "__globals__", {}).get(annotation, annotation)
        if annotation is DB:
            return name
    return None


def in_its_unit_of_work(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A sync endpoint with a `DB` parameter as one that opens and commits its own session."""
    name = None if inspect.iscoroutinefunction(endpoint) else _session_param(endpoint)
    if name is None:
        return endpoint
    signature = inspect.signature(endpoint)

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        with unit_of_work() as session:
            return endpoint(*args, **kwargs, **{name: session})

    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for n, p in signature.parameters.items() if n != name])
    return run


class UnitOfWorkRoute(APIRoute):
    """An APIRoute whose endpoint, if sync and taking `db: DB`, runs in its unit of work."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_its_unit_of_work(endpoint), **kwargs)
