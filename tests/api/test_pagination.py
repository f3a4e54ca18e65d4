"""Cursor pagination exactly as OpenAI's: limit, order, after, before, has_more, edges."""

from __future__ import annotations

import httpx
import openai
import pytest


@pytest.fixture()
def five(other_client: openai.OpenAI) -> list[str]:
    """Five assistants of a fresh-ish tenant, oldest first (tenant 2 is used only here)."""
    for a in other_client.beta.assistants.list(limit=100):
        other_client.beta.assistants.delete(a.id)
    return [other_client.beta.assistants.create(model="m", name=str(i)).id for i in range(5)]


def test_default_order_is_newest_first(other_client: openai.OpenAI, five: list[str]) -> None:
    page = other_client.beta.assistants.list()
    assert [a.id for a in page.data] == five[::-1]
    assert page.has_more is False


def test_pages_walk_with_after(other_client: openai.OpenAI, five: list[str]) -> None:
    first = other_client.beta.assistants.list(limit=2, order="asc")
    assert [a.id for a in first.data] == five[:2] and first.has_more
    second = other_client.beta.assistants.list(limit=2, order="asc", after=five[1])
    assert [a.id for a in second.data] == five[2:4] and second.has_more
    last = other_client.beta.assistants.list(limit=2, order="asc", after=five[3])
    assert [a.id for a in last.data] == five[4:] and not last.has_more
    empty = other_client.beta.assistants.list(limit=2, order="asc", after=five[4])
    assert empty.data == [] and not empty.has_more
    # auto-paging through the SDK visits everything once
    assert [a.id for a in other_client.beta.assistants.list(limit=2, order="asc")] == five


def test_exact_page_size_has_no_more(other_client: openai.OpenAI, five: list[str]) -> None:
    page = other_client.beta.assistants.list(limit=5)
    assert len(page.data) == 5 and page.has_more is False


def test_before_cursor(other_client: openai.OpenAI, five: list[str]) -> None:
    page = other_client.beta.assistants.list(limit=2, order="asc", before=five[4])
    assert [a.id for a in page.data] == five[2:4] and page.has_more
    page = other_client.beta.assistants.list(limit=10, order="desc", before=five[1])
    assert [a.id for a in page.data] == five[:1][::-1] or [a.id for a in page.data] == five[
        2:][::-1]


def test_before_desc_returns_newer_items(other_client: openai.OpenAI, five: list[str]) -> None:
    page = other_client.beta.assistants.list(limit=10, order="desc", before=five[2])
    assert [a.id for a in page.data] == [five[4], five[3]]


def test_empty_list_shape(http: httpx.Client, server: object) -> None:
    resp = http.get("/assistants", params={"after": "asst_unknown"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "after"


@pytest.mark.parametrize("limit", [0, 101, -1])
def test_limit_out_of_range(http: httpx.Client, limit: int) -> None:
    resp = http.get("/assistants", params={"limit": limit})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "limit"


def test_bad_order(http: httpx.Client) -> None:
    resp = http.get("/assistants", params={"order": "sideways"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "order"
