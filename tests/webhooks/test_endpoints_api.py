"""/v1/webhook_endpoints: create (secret once), list, retrieve, modify, delete, rotate, 400s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.support.receiver import Receiver
from tests.support.servers import ApiServer, api_server, sqlite_database


def test_create_shows_secret_once_and_lists_with_pagination(
        http: httpx.Client, rx: Receiver, register: Callable[..., dict[str, Any]]) -> None:
    made = [register(rx.url, events=["thread.run.completed"], description=f"n{i}",
                     metadata={"i": str(i)}) for i in range(3)]
    first = made[0]
    assert first["id"].startswith("we_") and first["object"] == "webhook_endpoint"
    assert first["secret"].startswith("whsec_") and len(first["secret"]) > 40
    assert first["status"] == "enabled" and first["events"] == ["thread.run.completed"]
    assert first["url"] == rx.url and first["metadata"] == {"i": "0"}
    got = http.get(f"/webhook_endpoints/{first['id']}").json()
    assert "secret" not in got and got["description"] == "n0"
    page1 = http.get("/webhook_endpoints", params={"limit": 2}).json()
    assert page1["object"] == "list" and page1["has_more"] is True
    assert [e["id"] for e in page1["data"]] == [made[2]["id"], made[1]["id"]]
    assert all("secret" not in e for e in page1["data"])
    page2 = http.get("/webhook_endpoints", params={"limit": 2, "after": page1["last_id"]}).json()
    assert made[0]["id"] in [e["id"] for e in page2["data"]]
    asc = http.get("/webhook_endpoints", params={"order": "asc", "limit": 100}).json()["data"]
    ids = [e["id"] for e in asc]
    assert ids.index(made[0]["id"]) < ids.index(made[1]["id"]) < ids.index(made[2]["id"])


def test_default_events_modify_disable_delete(http: httpx.Client, rx: Receiver,
                                              register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    assert ep["events"] == ["*"]
    r = http.post(f"/webhook_endpoints/{ep['id']}", json={
        "events": ["thread.run.failed", "thread.run.requires_action"], "disabled": True,
        "description": "changed", "metadata": {"k": "v"}, "url": rx.url + "/v2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["events"] == ["thread.run.failed", "thread.run.requires_action"]
    assert body["status"] == "disabled" and body["disabled_reason"] == "Disabled by the user."
    assert body["url"] == rx.url + "/v2" and body["metadata"] == {"k": "v"}
    again = http.post(f"/webhook_endpoints/{ep['id']}", json={"disabled": False}).json()
    assert again["status"] == "enabled" and again["disabled_reason"] is None
    assert again["description"] == "changed"  # untouched fields stay
    gone = http.delete(f"/webhook_endpoints/{ep['id']}")
    assert gone.json() == {"id": ep["id"], "object": "webhook_endpoint.deleted", "deleted": True}
    missing = http.get(f"/webhook_endpoints/{ep['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"No webhook endpoint found with id '{ep['id']}'."


def test_rotate_secret_returns_a_new_one(http: httpx.Client, rx: Receiver,
                                         register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    rotated = http.post(f"/webhook_endpoints/{ep['id']}/rotate_secret").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != ep["secret"]
    assert rotated["previous_secret_expires_at"] is not None


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"url": "ftp://example.com/x"}, "url", "https:// or http://"),
    ({"url": "not a url"}, "url", "https:// or http://"),
    ({"url": "http://user:pw@127.0.0.1/x"}, "url", "credentials"),
    ({"url": "http://169.254.169.254/latest/meta-data"}, "url", "metadata"),
    ({"url": "http://[::ffff:169.254.169.254]/"}, "url", "metadata"),
    ({"url": "http://0.0.0.0:8080/"}, "url", "unspecified"),
    ({"url": "http://224.0.0.1/"}, "url", "multicast"),
    ({"url": "http://no-such-host.invalid/hook"}, "url", "does not resolve"),
    ({"url": "http://127.0.0.1:9/x", "events": ["thread.run.exploded"]}, "events[0]",
     "Unknown event 'thread.run.exploded'"),
    ({"url": "http://127.0.0.1:9/x", "events": []}, "events", "at least one event"),
])
def test_bad_input_is_a_400_naming_the_param(http: httpx.Client, body: dict[str, Any],
                                             param: str, words: str) -> None:
    before = http.get("/webhook_endpoints", params={"limit": 100}).json()["data"]
    r = http.post("/webhook_endpoints", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and words in error["message"], error
    assert error["type"] == "invalid_request_error"
    assert http.get("/webhook_endpoints", params={"limit": 100}).json()["data"] == before


def test_bad_modify_changes_nothing(http: httpx.Client, rx: Receiver,
                                    register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url, events=["thread.run.completed"])
    for body, param in [({"url": "gopher://x"}, "url"), ({"events": ["nope"]}, "events[0]"),
                        ({"url": None}, "url"), ({"unknown": 1}, "unknown")]:
        r = http.post(f"/webhook_endpoints/{ep['id']}", json=body)
        assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
    now = http.get(f"/webhook_endpoints/{ep['id']}").json()
    assert now["url"] == rx.url and now["events"] == ["thread.run.completed"]


def test_endpoints_are_per_tenant(http: httpx.Client, other_http: httpx.Client, rx: Receiver,
                                  register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    assert other_http.get(f"/webhook_endpoints/{ep['id']}").status_code == 404
    assert other_http.delete(f"/webhook_endpoints/{ep['id']}").status_code == 404
    assert ep["id"] not in [e["id"] for e in other_http.get("/webhook_endpoints").json()["data"]]
    mine = http.get("/webhook_endpoints/run_secret").json()
    theirs = other_http.get("/webhook_endpoints/run_secret").json()
    assert mine["secret"].startswith("whsec_") and mine["secret"] != theirs["secret"]
    assert http.get("/webhook_endpoints/run_secret").json()["secret"] == mine["secret"]


def test_run_webhook_url_is_checked_at_create(sdk: openai.OpenAI, assistant: Any) -> None:
    thread = sdk.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as err:
        sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id,
                                     extra_body={"webhook_url": "http://169.254.169.254/x"})
    assert err.value.body["param"] == "webhook_url"  # type: ignore[index]
    assert "metadata" in err.value.body["message"]  # type: ignore[index]
    assert sdk.beta.threads.runs.list(thread_id=thread.id).data == []


@pytest.fixture(scope="module")
def strict_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """An API server with the default settings: private targets not allowed."""
    workdir = tmp_path_factory.mktemp("webhooks-strict")
    with sqlite_database(workdir) as url, api_server(url, workdir) as srv:
        yield srv


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "http://[::1]/hook",
    "http://10.0.0.8/hook", "http://192.168.1.20/hook", "http://100.64.1.1/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://[fd00::1]/hook", "http://2130706433/hook",
])
def test_default_settings_refuse_private_targets(strict_api: ApiServer, url: str) -> None:
    with httpx.Client(base_url=strict_api.base_url, timeout=30, headers={
            "Authorization": f"Bearer {strict_api.keys[0]}"}) as c:
        r = c.post("/webhook_endpoints", json={"url": url})
        assert r.status_code == 400 and r.json()["error"]["param"] == "url", r.text
        assert c.get("/webhook_endpoints").json()["data"] == []
        asst = c.post("/assistants", json={"model": "m"}).json()["id"]
        r = c.post("/threads/runs", json={"assistant_id": asst, "webhook_url": url})
        assert r.status_code == 400 and r.json()["error"]["param"] == "webhook_url", r.text
