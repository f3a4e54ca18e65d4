"""Random, non-guessable object ids with OpenAI's prefixes."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_LENGTH = 24  # ~143 bits of entropy

PREFIXES = {
    "assistant": "asst_",
    "thread": "thread_",
    "message": "msg_",
    "run": "run_",
    "step": "step_",
    "call": "call_",
    "file": "file-",
    "vector_store": "vs_",
    "file_batch": "vsfb_",
    "batch": "batch_",
    "webhook_endpoint": "we_",
    "webhook_delivery": "whdel_",
}


def new_id(kind: str) -> str:
    """A fresh id for an object of the given kind, e.g. new_id("assistant") -> "asst_…"."""
    return PREFIXES[kind] + "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
