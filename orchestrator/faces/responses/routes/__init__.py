"""The Responses face's routers, mounted under /v1 by the app."""

from __future__ import annotations

from orchestrator.faces.responses.routes import conversations, responses

ROUTERS = [responses.router, conversations.router]
