"""Vector store file content (`vector_stores.files.content`) of files indexed by real workers."""

from __future__ import annotations

import openai
import pytest

from tests.support import documents as docs
from tests.workers.conftest import wait_for
from tests.workers.test_retrieval import ready, upload

TEXT = "The heron Tobiah nests on the third pylon.\n\nIts eggs hatch in late April.\n"


def test_indexed_files_show_their_parsed_text(sdk: openai.OpenAI) -> None:
    plain = upload(sdk, "heron.txt", TEXT.encode())
    pdf = upload(sdk, "report.pdf", docs.pdf(["First page about otters.",
                                              "Second page: the weir is 14 metres wide."]))
    store = sdk.vector_stores.create(file_ids=[plain, pdf])
    ready(sdk, store.id)
    page = sdk.vector_stores.files.content(plain, vector_store_id=store.id)
    assert [(p.type, p.text) for p in page.data] == [("text", TEXT)]
    assert list(page) == page.data  # the SDK's page iterates its parts
    text = "".join(p.text or "" for p in sdk.vector_stores.files.content(
        pdf, vector_store_id=store.id))
    assert "otters" in text and "the weir is 14 metres wide" in text
    assert "%PDF" not in text


def test_a_file_that_failed_to_index_has_no_content(sdk: openai.OpenAI) -> None:
    bad = upload(sdk, "tool.exe", b"MZ\x90\x00\x03")
    store = sdk.vector_stores.create(file_ids=[bad])
    wait_for(lambda: sdk.vector_stores.files.retrieve(
        file_id=bad, vector_store_id=store.id).status == "failed", timeout=90)
    assert sdk.vector_stores.files.content(bad, vector_store_id=store.id).data == []


def test_content_is_per_tenant(sdk: openai.OpenAI, other: openai.OpenAI) -> None:
    fid = upload(sdk, "secret.txt", b"The password is swordfish.")
    store = sdk.vector_stores.create(file_ids=[fid])
    ready(sdk, store.id)
    with pytest.raises(openai.NotFoundError):
        other.vector_stores.files.content(fid, vector_store_id=store.id)
