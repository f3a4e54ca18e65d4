"""Wire pieces every face's request bodies share: the strict base (no NUL) and metadata."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error, as at OpenAI; no NUL characters."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """NUL cannot be stored by PostgreSQL: refuse it the same way on every backend."""
        if _has_nul(value):
            raise ValueError("must not contain NUL (\\u0000) characters")
        return value


def _check_metadata(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    if len(value) > 16:
        raise ValueError("metadata can have at most 16 key-value pairs")
    for key, val in value.items():
        if len(key) > 64:
            raise ValueError(f"metadata key '{key[:20]}…' is longer than 64 characters")
        if len(val) > 512:
            raise ValueError(f"metadata value for '{key}' is longer than 512 characters")
    return value


Metadata = Annotated[dict[str, str] | None, AfterValidator(_check_metadata)]
