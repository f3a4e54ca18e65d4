"""The FastAPI application: routers under /v1, probes at the root, OpenAI error envelopes."""

from __future__ import annotations

from fastapi import FastAPI

from orchestrator import wiring
from orchestrator.api import errors
from orchestrator.api.idempotency import IdempotencyMiddleware
from orchestrator.api.routes import health, inspector, metrics
from orchestrator.api.surrogate_guard import RefuseLoneSurrogates
from orchestrator.faces.assistants.routes import ROUTERS as ASSISTANTS
from orchestrator.faces.assistants.schemas.common import UNION_TAGS
from orchestrator.faces.responses.routes import ROUTERS as RESPONSES

# The faces this app serves, each a list of routers mounted under /v1.
FACES = {"assistants": ASSISTANTS, "responses": RESPONSES}


def create_app() -> FastAPI:
    """Build the app (with the faces plugged into the engine and the neutral packages)."""
    wiring.install()
    app = FastAPI(
        title="Assistants Orchestrator",
        version="0.1.0",
        description="Self-hosted OpenAI Assistants API (v1 and v2) and Responses API with"
                    " Conversations, on one durable run engine.",
    )
    errors.install(app, UNION_TAGS)
    app.add_middleware(IdempotencyMiddleware)  # Idempotency-Key on POST /v1/*
    # Added last, so outermost: a body with a lone surrogate is refused before anything is kept.
    app.add_middleware(RefuseLoneSurrogates)
    app.include_router(health.router)
    app.include_router(inspector.router)
    app.include_router(metrics.router)
    for routers in FACES.values():
        for router in routers:
            app.include_router(router, prefix="/v1")
    return app


app = create_app()
