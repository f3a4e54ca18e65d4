"""v1 assistant files (/assistants/{id}/files, `file_ids` on create) with real uploaded files."""

from __future__ import annotations

import httpx
import openai

from tests.conftest import V1, upload
from tests.support.servers import ApiServer


def test_attach_list_retrieve_detach(client: openai.OpenAI, v1: httpx.Client) -> None:
    asst = v1.post("/assistants", json={"model": "m", "tools": [{"type": "retrieval"}]}).json()
    file_id = upload(client)
    attached = v1.post(f"/assistants/{asst['id']}/files", json={"file_id": file_id})
    assert attached.status_code == 200, attached.text
    link = attached.json()
    assert set(link) == {"id", "object", "created_at", "assistant_id"}
    assert link["id"] == file_id and link["object"] == "assistant.file"
    assert link["assistant_id"] == asst["id"] and isinstance(link["created_at"], int)
    again = v1.post(f"/assistants/{asst['id']}/files", json={"file_id": file_id}).json()
    assert again == link
    assert v1.get(f"/assistants/{asst['id']}").json()["file_ids"] == [file_id]
    listed = v1.get(f"/assistants/{asst['id']}/files").json()
    assert listed["object"] == "list" and listed["data"] == [link]
    assert v1.get(f"/assistants/{asst['id']}/files/{file_id}").json() == link

    gone = v1.delete(f"/assistants/{asst['id']}/files/{file_id}").json()
    assert gone == {"id": file_id, "object": "assistant.file.deleted", "deleted": True}
    assert v1.get(f"/assistants/{asst['id']}/files").json()["data"] == []
    assert v1.get(f"/assistants/{asst['id']}/files/{file_id}").status_code == 404
    assert v1.get(f"/assistants/{asst['id']}").json()["file_ids"] == []
    assert client.files.retrieve(file_id).id == file_id  # detaching keeps the file


def test_list_pagination(client: openai.OpenAI, v1: httpx.Client) -> None:
    asst = v1.post("/assistants", json={"model": "m"}).json()
    ids = [upload(client, f"{i}.txt") for i in range(3)]
    for file_id in ids:
        assert v1.post(f"/assistants/{asst['id']}/files",
                       json={"file_id": file_id}).status_code == 200
    url = f"/assistants/{asst['id']}/files"
    first = v1.get(url, params={"limit": 2, "order": "asc"}).json()
    assert [f["id"] for f in first["data"]] == ids[:2] and first["has_more"] is True
    assert first["first_id"] == ids[0] and first["last_id"] == ids[1]
    rest = v1.get(url, params={"limit": 2, "order": "asc", "after": ids[1]}).json()
    assert [f["id"] for f in rest["data"]] == [ids[2]] and rest["has_more"] is False
    assert v1.get(url, params={"order": "asc", "after": ids[2]}).json()["data"] == []
    newest = v1.get(url, params={"limit": 1}).json()
    assert [f["id"] for f in newest["data"]] == [ids[2]]
    earlier = v1.get(url, params={"order": "asc", "before": ids[2]}).json()
    assert [f["id"] for f in earlier["data"]] == ids[:2]
    bad = v1.get(url, params={"limit": 101})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"


def test_create_with_file_ids(client: openai.OpenAI, v1: httpx.Client,
                              http: httpx.Client) -> None:
    ids = [upload(client, "a.txt"), upload(client, "b.txt")]
    resp = v1.post("/assistants", json={"model": "m", "tools": [{"type": "code_interpreter"}],
                                        "file_ids": ids})
    assert resp.status_code == 200, resp.text
    asst = resp.json()
    assert asst["file_ids"] == ids and "tool_resources" not in asst
    assert v1.get(f"/assistants/{asst['id']}").json()["file_ids"] == ids
    v2 = http.get(f"/assistants/{asst['id']}").json()
    assert v2["tool_resources"]["code_interpreter"]["file_ids"] == ids


def test_unknown_and_foreign_files_are_refused(client: openai.OpenAI,
                                              other_client: openai.OpenAI,
                                              v1: httpx.Client) -> None:
    asst = v1.post("/assistants", json={"model": "m"}).json()
    foreign = other_client.files.create(file=("theirs.txt", b"x"), purpose="assistants").id
    for file_id in ("file-doesnotexist", foreign):
        resp = v1.post(f"/assistants/{asst['id']}/files", json={"file_id": file_id})
        assert resp.status_code == 400
        assert resp.json()["error"]["message"] == f"No file found with id '{file_id}'."
        created = v1.post("/assistants", json={"model": "m", "file_ids": [file_id]})
        assert created.status_code == 400
        assert created.json()["error"]["param"] == "file_ids[0]"
    assert v1.get(f"/assistants/{asst['id']}/files").json()["data"] == []
    assert v1.post("/assistants/asst_nope/files",
                   json={"file_id": upload(client)}).status_code == 404


def test_other_tenant_cannot_see_attachments(client: openai.OpenAI, server: ApiServer,
                                             v1: httpx.Client) -> None:
    file_id = upload(client)
    asst = v1.post("/assistants", json={"model": "m", "file_ids": [file_id]}).json()
    with httpx.Client(base_url=server.base_url, headers={
            "Authorization": f"Bearer {server.keys[1]}", **V1}) as other:
        assert other.get(f"/assistants/{asst['id']}/files").status_code == 404
        assert other.get(f"/assistants/{asst['id']}/files/{file_id}").status_code == 404
        assert other.delete(f"/assistants/{asst['id']}/files/{file_id}").status_code == 404
    assert v1.get(f"/assistants/{asst['id']}").json()["file_ids"] == [file_id]
