"""Lone UTF-16 surrogates: valid JSON escapes ("\\ud800") that no UTF-8 text can hold.

A decoded JSON document may carry them in any string, key or value; stored, they break every
later read, stream and webhook of the object. Callers refuse the document instead, naming
where the first one sits (the API for request bodies, batches for input lines).
"""

from __future__ import annotations

import re
from typing import Any

from orchestrator.errors import InvalidRequest

# Only these bytes can decode to a surrogate: a \uD800-\uDFFF escape, or the UTF-8-like
# encoding of one (json.loads decodes bytes with "surrogatepass"). A valid escaped pair also
# matches: the filter only decides whether the decoded document is worth walking.
_SUSPECT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16/32 bodies: the byte filter cannot tell


def may_hold(raw: bytes) -> bool:
    """Whether json.loads(raw) could produce a lone surrogate (cheap; false positives ok)."""
    return (_SUSPECT.search(raw) is not None or b"\x00" in raw[:4]
            or raw.startswith(_WIDE_BOMS))


def _has(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _shown(text: str) -> str:
    """Text safe to put in a UTF-8 answer: surrogates written as \\udxxx escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _join(path: str, key: str) -> str:
    return f"{path}.{_shown(key)}" if path else _shown(key)


def find(document: Any) -> str | None:
    """The location of the first lone surrogate ("metadata.key", "tools[0].function…"), ""
    for a top-level string, None when there is none. Iterative: nesting depth is no limit."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _has(value):
                return path
        elif isinstance(value, dict):
            items = list(value.items())
            for key, _ in items:
                if isinstance(key, str) and _has(key):
                    return _join(path, key)
            stack.extend((_join(path, k), v) for k, v in reversed(items))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
    return None


REASON = ("it holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), which is"
          " not valid Unicode text; send characters outside the basic plane as UTF-8 or as a"
          " complete surrogate pair.")


def refusal(where: str) -> InvalidRequest:
    """The 400 for a lone surrogate at `where` (a path from find())."""
    named = f"'{where}'" if where else "request body"
    return InvalidRequest(f"Invalid {named}: {REASON}", param=where or None)


def check(document: Any) -> None:
    """Raise the 400 if the decoded document holds a lone surrogate anywhere."""
    where = find(document)
    if where is not None:
        raise refusal(where)
