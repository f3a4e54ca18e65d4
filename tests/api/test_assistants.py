"""Assistants through the official SDK (v2) and raw HTTP: CRUD, validation, tenancy, lists."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support.servers import ApiServer

QUICKSTART = {
    "name": "Math Tutor",
    "instructions": "You are a personal math tutor. Write and run code to answer math questions.",
    "tools": [{"type": "code_interpreter"}],
    "model": "gpt-4-1106-preview",
}
V2_FIELDS = {"id", "object", "created_at", "name", "description", "model", "instructions",
             "tools", "tool_resources", "metadata", "temperature", "top_p", "response_format"}


def test_quickstart_create_matches_reference_shape(client: openai.OpenAI,
                                                    http: httpx.Client) -> None:
    asst = client.beta.assistants.create(**QUICKSTART)  # type: ignore[arg-type]
    assert asst.id.startswith("asst_") and len(asst.id) > 20
    assert asst.object == "assistant"
    assert asst.name == "Math Tutor" and asst.model == "gpt-4-1106-preview"
    assert [t.type for t in asst.tools] == ["code_interpreter"]
    raw = http.get(f"/assistants/{asst.id}").json()
    assert set(raw) == V2_FIELDS
    assert raw["description"] is None and raw["temperature"] is None
    assert raw["metadata"] == {} and raw["response_format"] == "auto"


def test_retrieve_modify_delete(client: openai.OpenAI) -> None:
    asst = client.beta.assistants.create(model="m1", name="a", metadata={"k": "v"})
    got = client.beta.assistants.retrieve(asst.id)
    assert got == asst
    mod = client.beta.assistants.update(
        asst.id, name="b", temperature=0.5, top_p=0.9,
        tools=[{"type": "function", "function": {
            "name": "get_weather", "description": "weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]}}}],
        response_format={"type": "json_object"},
    )
    assert mod.name == "b" and mod.model == "m1" and mod.metadata == {"k": "v"}
    assert mod.temperature == 0.5 and mod.top_p == 0.9
    assert mod.tools[0].type == "function" and mod.tools[0].function.name == "get_weather"
    assert mod.response_format.type == "json_object"  # type: ignore[union-attr]
    assert client.beta.assistants.retrieve(asst.id).name == "b"
    deleted = client.beta.assistants.delete(asst.id)
    assert deleted.deleted and deleted.id == asst.id and deleted.object == "assistant.deleted"
    with pytest.raises(openai.NotFoundError) as exc:
        client.beta.assistants.retrieve(asst.id)
    assert exc.value.body["message"] == f"No assistant found with id '{asst.id}'."  # type: ignore[index]


def test_file_search_tool_and_json_schema_format(client: openai.OpenAI) -> None:
    asst = client.beta.assistants.create(
        model="m", tools=[{"type": "file_search",
                           "file_search": {"max_num_results": 5,
                                           "ranking_options": {"score_threshold": 0.2}}}],
        response_format={"type": "json_schema", "json_schema": {
            "name": "answer", "schema": {"type": "object"}, "strict": True}},
    )
    assert asst.tools[0].type == "file_search"
    assert asst.tools[0].file_search.max_num_results == 5  # type: ignore[union-attr]
    assert asst.response_format.json_schema.name == "answer"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "model"),
        ({"model": "m", "name": "x" * 257}, "name"),
        ({"model": "m", "description": "x" * 513}, "description"),
        ({"model": "m", "temperature": 2.5}, "temperature"),
        ({"model": "m", "top_p": -0.1}, "top_p"),
        ({"model": "m", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"model": "m", "metadata": {"k" * 65: "v"}}, "metadata"),
        ({"model": "m", "metadata": {"k": "v" * 513}}, "metadata"),
        ({"model": "m", "tools": [{"type": "browser"}]}, "tools[0]"),
        ({"model": "m", "tools": [{"type": "function", "function": {"name": "bad name"}}]},
         "tools[0].function.name"),
        ({"model": "m", "tools": [{"type": "function", "function": {
            "name": "f", "parameters": {"type": "object", "properties": 3}}}]},
         "tools[0].function.parameters"),
        ({"model": "m", "tools": [{"type": "retrieval"}]}, "tools[0].type"),
        ({"model": "m", "tools": [{"type": "code_interpreter"}] * 129}, "tools"),
        ({"model": "m", "response_format": {"type": "xml"}}, "response_format"),
        ({"model": "m", "file_ids": ["file-abc"]}, "file_ids"),
        ({"model": "m", "tool_resources": {"code_interpreter": {"file_ids": ["file-nope"]}}},
         "tool_resources.code_interpreter.file_ids[0]"),
        ({"model": "m", "surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_400_naming_param(http: httpx.Client, body: dict[str, object],
                                       param: str) -> None:
    before = http.get("/assistants", params={"limit": 100}).json()["data"]
    resp = http.post("/assistants", json=body)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert err["param"] == param, err
    assert err["message"]
    assert http.get("/assistants", params={"limit": 100}).json()["data"] == before


def test_malformed_json_is_400(http: httpx.Client) -> None:
    resp = http.post("/assistants", content=b"{not json",
                     headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert "could not parse the JSON body" in resp.json()["error"]["message"]


def test_unknown_and_other_tenant_ids_are_404(client: openai.OpenAI,
                                              other_client: openai.OpenAI) -> None:
    mine = client.beta.assistants.create(model="m")
    for call in (lambda: other_client.beta.assistants.retrieve(mine.id),
                 lambda: other_client.beta.assistants.update(mine.id, name="x"),
                 lambda: other_client.beta.assistants.delete(mine.id),
                 lambda: client.beta.assistants.retrieve("asst_doesnotexist")):
        with pytest.raises(openai.NotFoundError):
            call()
    assert mine.id not in {a.id for a in other_client.beta.assistants.list(limit=100)}
    assert client.beta.assistants.retrieve(mine.id).name is None


def test_auth_required(server: ApiServer) -> None:
    resp = httpx.get(server.base_url + "/assistants")
    assert resp.status_code == 401 and resp.json()["error"]["message"]
    resp = httpx.get(server.base_url + "/assistants",
                     headers={"Authorization": "Bearer sk-wrong-key-123456"})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"
    assert "123456" not in resp.json()["error"]["message"][:12]


def test_health_and_ready_need_no_key(server: ApiServer) -> None:
    root = server.url
    assert httpx.get(root + "/health").json() == {"status": "ok"}
    ready = httpx.get(root + "/ready")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
    assert ready.json()["redis"] == "ok"
