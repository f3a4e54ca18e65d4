"""POST /v1/threads/runs with tool_resources on the thread and at the top level: both join the
new thread's resources (per tool, in order, without duplicates)."""

from __future__ import annotations

import httpx
import openai

from tests.api.test_threads import count
from tests.support.servers import ApiServer


def upload(client: openai.OpenAI, name: str = "f.txt") -> str:
    """An uploaded file's id."""
    return client.files.create(file=(name, b"x = 1\n"), purpose="assistants").id


def test_both_places_are_accepted_and_joined(client: openai.OpenAI) -> None:
    f1, f2, f3 = upload(client), upload(client), upload(client)
    near, far = client.vector_stores.create(), client.vector_stores.create()
    asst = client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"},
                                                           {"type": "file_search"}])
    run = client.beta.threads.create_and_run(
        assistant_id=asst.id,
        thread={"messages": [{"role": "user", "content": "hi"}], "tool_resources": {
            "code_interpreter": {"file_ids": [f1, f2]},
            "file_search": {"vector_store_ids": [near.id]}}},
        tool_resources={"code_interpreter": {"file_ids": [f2, f3]},
                        "file_search": {"vector_store_ids": [far.id]}})
    assert run.status == "queued"
    resources = client.beta.threads.retrieve(run.thread_id).tool_resources
    assert resources is not None and resources.code_interpreter is not None
    assert resources.code_interpreter.file_ids == [f1, f2, f3]
    assert resources.file_search is not None
    assert resources.file_search.vector_store_ids == [near.id, far.id]


def test_new_stores_at_the_top_level_join_the_threads_store(client: openai.OpenAI) -> None:
    fid = upload(client, "notes.md")
    near = client.vector_stores.create()
    asst = client.beta.assistants.create(model="m", tools=[{"type": "file_search"}])
    run = client.beta.threads.create_and_run(
        assistant_id=asst.id,
        thread={"tool_resources": {"file_search": {"vector_store_ids": [near.id]}}},
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [fid]}]}})
    ids = client.beta.threads.retrieve(run.thread_id).tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert ids is not None and ids[0] == near.id and len(ids) == 2
    assert [f.id for f in client.vector_stores.files.list(vector_store_id=ids[1]).data] == [fid]


def test_only_top_level_resources_still_become_the_threads(client: openai.OpenAI) -> None:
    fid = upload(client)
    asst = client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
    run = client.beta.threads.create_and_run(
        assistant_id=asst.id, tool_resources={"code_interpreter": {"file_ids": [fid]}})
    resources = client.beta.threads.retrieve(run.thread_id).tool_resources
    assert resources.code_interpreter.file_ids == [fid]  # type: ignore[union-attr]


def test_bad_resources_name_their_place_and_write_nothing(client: openai.OpenAI,
                                                          http: httpx.Client,
                                                          server: ApiServer) -> None:
    asst = client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
    good = [upload(client) for _ in range(12)]
    before = count(server, "SELECT count(*) FROM threads")
    cases = [
        ({"thread": {"tool_resources": {"code_interpreter": {"file_ids": ["file-nope"]}}},
          "tool_resources": {"code_interpreter": {"file_ids": good[:1]}}},
         "thread.tool_resources.code_interpreter.file_ids[0]"),
        ({"thread": {"tool_resources": {"code_interpreter": {"file_ids": good[:1]}}},
          "tool_resources": {"code_interpreter": {"file_ids": ["file-nope"]}}},
         "tool_resources.code_interpreter.file_ids[0]"),
        ({"thread": {"tool_resources": {"code_interpreter": {"file_ids": good[:10]}}},
          "tool_resources": {"code_interpreter": {"file_ids": good[2:] + [
              upload(client) for _ in range(9)]}}},
         "tool_resources.code_interpreter.file_ids"),
    ]
    for body, param in cases:
        resp = http.post("/threads/runs", json={"assistant_id": asst.id, **body})
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["param"] == param
    v1 = http.post("/threads/runs", headers={"OpenAI-Beta": "assistants=v1"}, json={
        "assistant_id": asst.id, "tool_resources": {"code_interpreter": {"file_ids": good[:1]}}})
    assert v1.status_code == 400 and v1.json()["error"]["param"] == "tool_resources"
    assert count(server, "SELECT count(*) FROM threads") == before
