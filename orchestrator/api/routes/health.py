"""Liveness and readiness probes (no API key needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from kombu import Connection
from sqlalchemy import text

from orchestrator.config import get_settings
from orchestrator.db import get_engine
from orchestrator.redis_client import new_redis

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
def ready() -> JSONResponse:
    """Database, Redis (and RabbitMQ when it is the broker) are reachable; 503 naming what
    is not."""
    checks: dict[str, Any] = {}
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, never raise: this is a probe
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        client = new_redis(socket_timeout=2, socket_connect_timeout=2)
        client.ping()
        client.close()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    if get_settings().broker_url:  # RabbitMQ (else the broker is the Redis just checked)
        try:
            with Connection(get_settings().broker_url, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(status_code=200 if ok else 503,
                        content={"status": "ok" if ok else "unavailable", **checks})
