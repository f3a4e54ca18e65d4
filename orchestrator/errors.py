"""Domain errors, rendered by the API as the OpenAI error envelope."""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """A client-visible error with an HTTP status and OpenAI's error fields."""

    status_code = 400
    error_type = "invalid_request_error"
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """The JSON body OpenAI sends for this error."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(APIError):
    """400: the request is malformed or conflicts with the object's state."""


class NotFound(APIError):
    """404: no such object for this tenant."""

    status_code = 404


class Unauthorized(APIError):
    """401: missing or unknown API key."""

    status_code = 401


class Conflict(APIError):
    """409: another request holds what this one needs (e.g. its Idempotency-Key)."""

    status_code = 409
    retry_after = 1


class PayloadTooLarge(APIError):
    """413: an upload over the configured limit."""

    status_code = 413


class ServiceUnavailable(APIError):
    """503: a dependency (database, Redis) is unreachable; `Retry-After` says when to retry."""

    status_code = 503
    error_type = "server_error"

    def __init__(self, message: str, *, param: str | None = None,
                 code: str | None = "service_unavailable", retry_after: int = 1) -> None:
        super().__init__(message, param=param, code=code)
        self.retry_after = retry_after


def not_found(kind: str, object_id: str, param: str | None = None) -> NotFound:
    """OpenAI's wording for an unknown id: "No assistant found with id 'asst_…'."."""
    return NotFound(f"No {kind} found with id '{object_id}'.", param=param)
