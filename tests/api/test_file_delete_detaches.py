"""DELETE /v1/files/{id} takes the file out of everything naming it: v1 assistant files, v1
message files, code-interpreter resources (v2), and nothing of another tenant."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import V1, upload
from tests.support.servers import ApiServer


def test_v1_assistant_and_message_files_lose_a_deleted_file(client: openai.OpenAI,
                                                            v1: httpx.Client) -> None:
    doomed, kept = upload(client), upload(client, "kept.txt")
    asst = v1.post("/assistants", json={"model": "m", "tools": [{"type": "retrieval"}],
                                        "file_ids": [doomed, kept]}).json()
    thread = v1.post("/threads", json={"messages": [
        {"role": "user", "content": "see files", "file_ids": [kept, doomed]}]}).json()
    msg = v1.get(f"/threads/{thread['id']}/messages").json()["data"][0]
    assert msg["file_ids"] == [kept, doomed]

    assert client.files.delete(doomed).deleted

    assert v1.get(f"/assistants/{asst['id']}").json()["file_ids"] == [kept]
    assert [f["id"] for f in v1.get(f"/assistants/{asst['id']}/files").json()["data"]] == [kept]
    assert v1.get(f"/assistants/{asst['id']}/files/{doomed}").status_code == 404
    after = v1.get(f"/threads/{thread['id']}/messages/{msg['id']}").json()
    assert after["file_ids"] == [kept]
    files = v1.get(f"/threads/{thread['id']}/messages/{msg['id']}/files").json()["data"]
    assert [f["id"] for f in files] == [kept]
    # The v2 view of the same message no longer attaches it either.
    v2_msg = client.beta.threads.messages.retrieve(msg["id"], thread_id=thread["id"])
    assert [a.file_id for a in v2_msg.attachments or []] == [kept]


def test_code_interpreter_resources_lose_a_deleted_file(client: openai.OpenAI,
                                                        v1: httpx.Client) -> None:
    doomed, kept = upload(client), upload(client, "kept.txt")
    resources = {"code_interpreter": {"file_ids": [doomed, kept]}}
    asst = client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}],
                                         tool_resources=resources)  # type: ignore[arg-type]
    thread = client.beta.threads.create(tool_resources=resources)  # type: ignore[arg-type]
    client.files.delete(doomed)
    got = client.beta.assistants.retrieve(asst.id).tool_resources
    assert got.code_interpreter.file_ids == [kept]  # type: ignore[union-attr]
    assert v1.get(f"/assistants/{asst.id}").json()["file_ids"] == [kept]
    got = client.beta.threads.retrieve(thread.id).tool_resources
    assert got.code_interpreter.file_ids == [kept]  # type: ignore[union-attr]


def test_another_tenants_references_are_untouched(client: openai.OpenAI,
                                                  other_client: openai.OpenAI,
                                                  server: ApiServer) -> None:
    mine = upload(client)
    theirs = upload(other_client)
    with httpx.Client(base_url=server.base_url, timeout=30, headers={
            "Authorization": f"Bearer {server.keys[1]}", **V1}) as other_v1:
        asst = other_v1.post("/assistants", json={"model": "m", "file_ids": [theirs]}).json()
        # Deleting my file (whatever its id) leaves the other tenant's assistant as it was,
        # and the other tenant cannot delete my file.
        with pytest.raises(openai.NotFoundError):
            other_client.files.delete(mine)
        client.files.delete(mine)
        assert other_v1.get(f"/assistants/{asst['id']}").json()["file_ids"] == [theirs]
