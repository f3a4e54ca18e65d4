"""Pydantic's validation errors as OpenAI's 400 (`param` in its notation); no web framework."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrator.errors import InvalidRequest

# Discriminator values of the faces' tagged unions ("function" in tools[0].function.name),
# left out of `param`; each face adds its own when the app installs the handlers.
TAGS: set[str] = set()


def param_of(loc: Sequence[Any]) -> str | None:
    """Turn a pydantic error location into OpenAI's `param` ("tools[0].function.name")."""
    out = ""
    prev_marker = False  # previous part was an index or a union branch: a tag may follow
    for part in loc:
        if part in ("body", "query", "path", "header") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
            prev_marker = True
            continue
        text = str(part)
        if "[" in text or "(" in text:  # a union branch name such as "literal['auto']"
            prev_marker = True
            continue
        if prev_marker and text in TAGS:
            prev_marker = False
            continue
        out += ("." if out else "") + text
        prev_marker = False
    return out or None


def _validation_message(err: dict[str, Any], param: str | None) -> str:
    kind = err.get("type", "")
    if kind == "json_invalid" or (param is None and kind in ("model_attributes_type",
                                                            "dict_type")):
        return (
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't"
            " using your HTTP library correctly. The OpenAI API expects a JSON payload, but what"
            " was sent was not valid JSON.)"
        )
    if kind == "missing":
        return f"Missing required parameter: '{param}'." if param else "Missing request body."
    if kind == "extra_forbidden":
        return f"Unrecognized request argument supplied: {param}"
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"Invalid '{param}': {msg}." if param else f"Invalid request: {msg}."


def invalid_request(errors: Sequence[Any]) -> InvalidRequest:
    """The 400 for a body pydantic refused, naming its first problem's `param`."""
    err = dict(errors[0]) if errors else {}
    param = param_of(err.get("loc", ()))
    code = {"missing": "missing_required_parameter",
            "extra_forbidden": "unknown_parameter"}.get(err.get("type", ""))
    return InvalidRequest(_validation_message(err, param), param=param, code=code)
