"""Attribute filters of vector store search (OpenAI's ComparisonFilter / CompoundFilter)."""

from __future__ import annotations

from typing import Any

from orchestrator.errors import InvalidRequest

COMPARISONS = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"}


def _compare(op: str, have: Any, want: Any) -> bool:
    if op == "eq":
        return bool(have == want)
    if op == "ne":
        return bool(have != want)
    if op in ("in", "nin"):
        found = isinstance(want, list) and have in want
        return found if op == "in" else not found
    if have is None or isinstance(have, bool) != isinstance(want, bool):
        return False
    try:
        return bool({"gt": have > want, "gte": have >= want, "lt": have < want,
                     "lte": have <= want}[op])
    except TypeError:
        return False


def matches(flt: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Whether a file's attributes pass the filter; a malformed filter is a 400."""
    kind = flt.get("type")
    if kind in ("and", "or"):
        parts = flt.get("filters")
        if not isinstance(parts, list):
            raise InvalidRequest("A compound filter needs a 'filters' list.", param="filters")
        results = [matches(p, attributes) for p in parts]
        return all(results) if kind == "and" else any(results)
    if kind in COMPARISONS and isinstance(flt.get("key"), str) and "value" in flt:
        return _compare(str(kind), attributes.get(flt["key"]), flt["value"])
    raise InvalidRequest("Invalid 'filters': expected a comparison {type, key, value} or a"
                         " compound {type: and|or, filters}.", param="filters")
