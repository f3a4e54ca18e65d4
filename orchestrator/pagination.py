"""OpenAI cursor pagination (limit / order / after / before) over a monotonic `seq` column."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from orchestrator.errors import InvalidRequest

R = TypeVar("R")
W = TypeVar("W")


class ListPage(BaseModel, Generic[W]):
    """OpenAI's cursor page, the same in every API generation."""

    model_config = ConfigDict(extra="allow")

    object: Literal["list"] = "list"
    data: list[W]
    first_id: str | None
    last_id: str | None
    has_more: bool


@dataclass(frozen=True)
class PageParams:
    """Validated list parameters."""

    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None


def check_limit(limit: int, maximum: int = 100) -> int:
    """OpenAI's bounds on `limit`, with its wording."""
    if limit < 1:
        raise InvalidRequest(
            f"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {limit}"
            " instead.",
            param="limit",
            code="integer_below_min_value",
        )
    if limit > maximum:
        raise InvalidRequest(
            f"Invalid 'limit': integer above maximum value. Expected a value <= {maximum}, but got"
            f" {limit} instead.",
            param="limit",
            code="integer_above_max_value",
        )
    return limit


def _cursor_seq(session: Session, model: Any, scope: Sequence[Any],
                cursor: str, param: str) -> int:
    seq = session.exec(select(model.seq).where(model.id == cursor, *scope)).first()
    if seq is None:
        raise InvalidRequest(f"No object found with id '{cursor}' for cursor '{param}'.",
                             param=param)
    return int(seq)


def page(
    session: Session,
    model: Any,
    scope: Sequence[Any],
    params: PageParams,
    to_wire: Callable[[Any], W],
) -> ListPage[W]:
    """One page of `model` rows matching `scope`, in OpenAI's list shape."""
    seq = col(model.seq)
    stmt = select(model).where(*scope)
    forward = params.order == "desc"  # walking toward smaller seq
    if params.after:
        pivot = _cursor_seq(session, model, scope, params.after, "after")
        stmt = stmt.where(seq < pivot if forward else seq > pivot)
    reverse = False
    if params.before:
        pivot = _cursor_seq(session, model, scope, params.before, "before")
        stmt = stmt.where(seq > pivot if forward else seq < pivot)
        # Take the rows nearest the cursor, then restore the requested order.
        reverse = True
        forward = not forward
    stmt = stmt.order_by(seq.desc() if forward else seq.asc()).limit(params.limit + 1)
    rows = list(session.exec(stmt).all())
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    if reverse:
        rows.reverse()
    return wire_page([to_wire(r) for r in rows], has_more)


def _id(item: Any) -> str | None:
    return item.get("id") if isinstance(item, dict) else getattr(item, "id", None)


def wire_page(items: list[W], has_more: bool) -> ListPage[W]:
    """Wrap items (wire models or dicts) in OpenAI's list envelope."""
    return ListPage[Any](
        data=items,
        first_id=_id(items[0]) if items else None,
        last_id=_id(items[-1]) if items else None,
        has_more=has_more,
    )


def page_in_memory(items: list[W], params: PageParams) -> ListPage[W]:
    """Paginate a short, already-ordered (ascending) Python list the same way."""
    ordered = items if params.order == "asc" else list(reversed(items))
    ids = [getattr(i, "id", None) for i in ordered]
    start, end = 0, len(ordered)
    for name in ("after", "before"):
        cursor = getattr(params, name)
        if cursor is None:
            continue
        if cursor not in ids:
            raise InvalidRequest(f"No object found with id '{cursor}' for cursor '{name}'.",
                                 param=name)
        if name == "after":
            start = ids.index(cursor) + 1
        else:
            end = ids.index(cursor)
    window = ordered[start:end]
    if params.before and not params.after:
        chosen = window[-params.limit:]
        return wire_page(chosen, len(window) > len(chosen))
    chosen = window[: params.limit]
    return wire_page(chosen, len(window) > len(chosen))
