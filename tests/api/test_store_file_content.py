"""GET /v1/vector_stores/{vs}/files/{file}/content without workers: shape, 404s, tenancy."""

from __future__ import annotations

import httpx
import openai
import pytest


def upload(client: openai.OpenAI, data: bytes = b"some words") -> str:
    """An uploaded file's id."""
    return client.files.create(file=("c.txt", data), purpose="assistants").id


def test_not_yet_indexed_file_has_an_empty_page(client: openai.OpenAI,
                                                http: httpx.Client) -> None:
    fid = upload(client)
    store = client.vector_stores.create(file_ids=[fid])  # no worker here: stays in_progress
    page = client.vector_stores.files.content(fid, vector_store_id=store.id)
    assert page.data == [] and page.object == "vector_store.file_content.page"
    raw = http.get(f"/vector_stores/{store.id}/files/{fid}/content")
    assert raw.json() == {"object": "vector_store.file_content.page", "data": [],
                          "has_more": False, "next_page": None}


def test_unknown_store_or_file_is_a_404(client: openai.OpenAI, http: httpx.Client) -> None:
    inside, outside = upload(client), upload(client)
    store = client.vector_stores.create(file_ids=[inside])
    for store_id, file_id, what in ((store.id, outside, "vector store file"),
                                    (store.id, "file-nope", "vector store file"),
                                    ("vs_nope", inside, "vector store")):
        with pytest.raises(openai.NotFoundError):
            client.vector_stores.files.content(file_id, vector_store_id=store_id)
        resp = http.get(f"/vector_stores/{store_id}/files/{file_id}/content")
        assert resp.status_code == 404
        error = resp.json()["error"]
        assert error["type"] == "invalid_request_error" and what in error["message"]
    client.vector_stores.files.delete(file_id=inside, vector_store_id=store.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.content(inside, vector_store_id=store.id)


def test_another_tenants_store_file_is_a_404(client: openai.OpenAI,
                                             other_client: openai.OpenAI) -> None:
    fid = upload(client)
    store = client.vector_stores.create(file_ids=[fid])
    with pytest.raises(openai.NotFoundError):
        other_client.vector_stores.files.content(fid, vector_store_id=store.id)
