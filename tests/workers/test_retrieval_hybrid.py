"""Hybrid search: with ORCH_EMBEDDING_MODEL set, chunks get vectors from the embeddings
endpoint (the scripted model's stand-in) and search fuses them with the lexical ranking."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.support import documents as docs
from tests.support.servers import REDIS_URL, postgres_database, sqlite_database
from tests.support.stack import Stack, stack
from tests.workers.conftest import wait_for

NEEDLE = "The vault combination for the Zephyrine archive is 7319."


@pytest.fixture()
def hybrid_stack(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A worker-backed stack with an embeddings model configured."""
    workdir = tmp_path_factory.mktemp(f"hybrid-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with db as url, stack(url, workdir, REDIS_URL, beat=False,
                          ORCH_EMBEDDING_MODEL="scripted-embed") as st:
        yield st


def test_hybrid_search_finds_what_words_miss(hybrid_stack: Stack) -> None:
    sdk = openai.OpenAI(base_url=hybrid_stack.api.base_url, api_key=hybrid_stack.api.keys[0],
                        max_retries=0)
    fid = sdk.files.create(file=("novel.txt", docs.long_text(NEEDLE, words=6000)),
                           purpose="assistants").id
    store = sdk.vector_stores.create(file_ids=[fid], chunking_strategy={
        "type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}})
    done = wait_for(lambda: (s := sdk.vector_stores.retrieve(store.id)).status == "completed"
                    and s, timeout=90)
    assert done.file_counts.completed == 1, hybrid_stack.worker_log()
    seen = httpx.get(hybrid_stack.model.url + "/_requests", timeout=10).json()
    assert seen["embedding_inputs"] > 100  # every chunk was embedded
    exact = sdk.vector_stores.search(store.id, query="Zephyrine vault combination").data
    assert "7319" in exact[0].content[0].text and 0 < exact[0].score <= 1
    misspelt = sdk.vector_stores.search(store.id, query="Zefyrine vaullt combinaton",
                                        max_num_results=3).data
    assert misspelt and "7319" in misspelt[0].content[0].text  # no word of it is in the file
