"""The Assistants face's own request dependency: the API version of `OpenAI-Beta`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from orchestrator.errors import InvalidRequest
from orchestrator.faces.assistants.schemas.common import Version


async def api_version(openai_beta: Annotated[str | None, Header()] = None) -> Version:
    """`OpenAI-Beta: assistants=v1|v2`; a missing header means v2."""
    if not openai_beta:
        return "v2"
    for part in openai_beta.split(","):
        name, _, value = part.strip().partition("=")
        if name == "assistants":
            if value in ("v1", "v2"):
                return "v1" if value == "v1" else "v2"
            raise InvalidRequest(
                f"Invalid 'OpenAI-Beta' header value '{openai_beta}'. Use 'assistants=v2'"
                " (or 'assistants=v1').",
                code="invalid_beta",
            )
    return "v2"


ApiVersion = Annotated[Version, Depends(api_version)]
