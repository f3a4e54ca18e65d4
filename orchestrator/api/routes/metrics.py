"""GET /metrics: Prometheus text format, no API key (aggregates only, no tenant data)."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from orchestrator.metrics import registry

router = APIRouter(tags=["metrics"])


@lru_cache(maxsize=1)
def _registry() -> CollectorRegistry:
    return registry()


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    """Runs by status, batches, queue depths and the step latency histogram."""
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
