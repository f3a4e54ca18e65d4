"""The Responses face's routers, mounted under /v1 by the app."""

from __future__ import annotations

from orchestrator.faces.responses.routes import containers, conversations, responses

ROUTERS = [responses.router, conversations.router, containers.router]
