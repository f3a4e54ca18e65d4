"""The FastAPI application: routers under /v1, probes at the root, OpenAI error envelopes."""

from __future__ import annotations

from fastapi import FastAPI

from orchestrator.api import errors
from orchestrator.api.idempotency import IdempotencyMiddleware
from orchestrator.api.routes import (
    assistants,
    batches,
    files,
    health,
    inspector,
    messages,
    metrics,
    runs,
    steps,
    threads,
    vector_stores,
)
from orchestrator.api.routes.webhook_endpoints import router as webhook_endpoints_router
from orchestrator.api.surrogate_guard import RefuseLoneSurrogates

# runs first: POST /threads/runs must not be taken for POST /threads/{thread_id}.
API_ROUTERS = [runs.router, steps.router, assistants.router, threads.router, messages.router,
               files.router, vector_stores.router, webhook_endpoints_router, batches.router]


def create_app() -> FastAPI:
    """Build the app."""
    app = FastAPI(
        title="Assistants Orchestrator",
        version="0.1.0",
        description="Self-hosted OpenAI Assistants API (v1 and v2).",
    )
    errors.install(app)
    app.add_middleware(IdempotencyMiddleware)  # Idempotency-Key on POST /v1/*
    # Added last, so outermost: a body with a lone surrogate is refused before anything is kept.
    app.add_middleware(RefuseLoneSurrogates)
    app.include_router(health.router)
    app.include_router(inspector.router)
    app.include_router(metrics.router)
    for router in API_ROUTERS:
        app.include_router(router, prefix="/v1")
    return app


app = create_app()
