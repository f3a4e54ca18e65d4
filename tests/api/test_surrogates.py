"""Lone UTF-16 surrogates ("\\ud800", a valid JSON escape) anywhere in a body: a 400 naming
the param, nothing written, and every list still answers (raw HTTP: the SDKs encode JSON as
UTF-8 and cannot send one)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.test_threads import count
from tests.support.servers import ApiServer

LONE = "\ud800"
TABLES = ("assistants", "threads", "messages", "runs", "run_steps", "events", "vector_stores",
          "webhook_endpoints", "webhook_deliveries", "run_webhooks")


def send(http: httpx.Client, path: str, body: Any, **headers: str) -> httpx.Response:
    """POST `body` as JSON escaped to ASCII: a lone surrogate travels as "\\ud800"."""
    return http.post(path, content=json.dumps(body), headers={
        "Content-Type": "application/json", **headers})


def rows(server: ApiServer) -> dict[str, int]:
    """How many rows each table the requests could write holds."""
    return {t: count(server, f"SELECT count(*) FROM {t}") for t in TABLES}


def refused(resp: httpx.Response, param: str | None) -> None:
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["type"] == "invalid_request_error" and err["param"] == param, err
    assert "lone UTF-16 surrogate" in err["message"]


@pytest.fixture()
def objects(http: httpx.Client) -> dict[str, str]:
    """An assistant, a thread with a message, a vector store, all of the first tenant."""
    asst = http.post("/assistants", json={"model": "m"}).json()["id"]
    thread = http.post("/threads", json={"messages": [{"role": "user", "content": "hi"}]})
    store = http.post("/vector_stores", json={"name": "s"}).json()["id"]
    return {"asst": asst, "thread": thread.json()["id"], "store": store}


FUNCTION = {"type": "function", "function": {"name": "f", "parameters": {
    "type": "object", "properties": {"x": {"type": "string", "description": f"a{LONE}b"}}}}}
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("assistant metadata", "/assistants", {"model": "m", "metadata": {"key": LONE}},
     "metadata.key"),
    ("metadata key", "/assistants", {"model": "m", "metadata": {LONE: "v"}}, "metadata.\\ud800"),
    ("function parameters", "/assistants", {"model": "m", "tools": [FUNCTION]},
     "tools[0].function.parameters.properties.x.description"),
    ("plain string", "/assistants", {"model": "m", "name": "low \udfff"}, "name"),
    ("modify", "/assistants/{asst}", {"metadata": {"k": LONE}}, "metadata.k"),
    ("thread", "/threads", {"messages": [{"role": "user", "content": "ok"},
                                         {"role": "user", "content": LONE}]},
     "messages[1].content"),
    ("message", "/threads/{thread}/messages", {"role": "user", "content": [
        {"type": "text", "text": LONE}]}, "content[0].text"),
    ("run", "/threads/{thread}/runs", {"assistant_id": "{asst}", "metadata": {"key": LONE}},
     "metadata.key"),
    ("run with webhook", "/threads/{thread}/runs", {
        "assistant_id": "{asst}", "webhook_url": "https://example.com/hook",
        "additional_instructions": LONE}, "additional_instructions"),
    ("thread and run", "/threads/runs", {"assistant_id": "{asst}", "thread": {
        "messages": [{"role": "user", "content": "q", "metadata": {"m": LONE}}]}},
     "thread.messages[0].metadata.m"),
    ("search query", "/vector_stores/{store}/search", {"query": f"find {LONE}"}, "query"),
    ("webhook endpoint", "/webhook_endpoints", {"url": "https://example.com/h",
                                                "description": LONE}, "description"),
]


@pytest.mark.parametrize(("path", "body", "param"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_lone_surrogate_is_refused_naming_the_param_and_nothing_is_written(
        server: ApiServer, http: httpx.Client, objects: dict[str, str], path: str,
        body: dict[str, Any], param: str) -> None:
    body = json.loads(json.dumps(body).replace("{asst}", objects["asst"]))
    before = rows(server)
    refused(send(http, path.format(**objects), body), param)
    assert rows(server) == before
    thread = objects["thread"]
    for listing in ("/assistants", "/vector_stores", f"/threads/{thread}/messages",
                    f"/threads/{thread}/runs", "/webhook_endpoints"):
        assert http.get(listing).status_code == 200, listing
    # The thread is not locked by a half-made run: a clean run is accepted.
    ok = send(http, f"/threads/{thread}/runs", {"assistant_id": objects["asst"]})
    assert ok.status_code == 200, ok.text
    assert http.get(f"/threads/{thread}/runs").json()["data"][0]["id"] == ok.json()["id"]


def test_raw_utf8_encoded_surrogate_is_refused_too(server: ApiServer, http: httpx.Client) -> None:
    before = rows(server)
    raw = '{"model": "m", "metadata": {"k": "\ud800"}}'.encode("utf-8", "surrogatepass")
    resp = http.post("/assistants", content=raw, headers={"Content-Type": "application/json"})
    refused(resp, "metadata.k")
    refused(http.post("/assistants", content=raw), "metadata.k")  # no Content-Type: JSON too
    assert rows(server) == before


def test_surrogate_pairs_and_escaped_backslashes_are_fine(http: httpx.Client) -> None:
    # An escaped pair is one character (U+1F642); "\\ud800" is a backslash and five letters.
    resp = send(http, "/assistants", {"model": "m", "name": "\U0001f642",
                                      "metadata": {"k": "\\ud800"}})
    assert resp.status_code == 200, resp.text
    got = http.get(f"/assistants/{resp.json()['id']}").json()
    assert got["name"] == "\U0001f642" and got["metadata"] == {"k": "\\ud800"}
