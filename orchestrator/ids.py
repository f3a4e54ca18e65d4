"""Random, non-guessable object ids with OpenAI's prefixes."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_LENGTH = 24  # ~143 bits of entropy
_SPACE = len(_ALPHABET) ** _LENGTH

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
    "response": "resp_",
    "conversation": "conv_",
    "container": "cntr_",
    "container_file": "cfile_",
}


def new_id(kind: str) -> str:
    """A fresh id for an object of the given kind, e.g. new_id("assistant") -> "asst_…"."""
    # One draw from the OS for the whole id, spelled in base 62 (a per-character
    # secrets.choice costs ~20 us an id, which the run path pays several times a step).
    n = secrets.randbelow(_SPACE)
    chars = []
    for _ in range(_LENGTH):
        n, digit = divmod(n, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return PREFIXES[kind] + "".join(chars)
