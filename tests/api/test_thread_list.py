"""GET /v1/threads (our extension): the tenant's threads, newest first, OpenAI cursor pages."""

from __future__ import annotations

import httpx
import openai
from openai.pagination import SyncCursorPage
from openai.types.beta import Thread

V2 = {"OpenAI-Beta": "assistants=v2"}


def sdk_list(client: openai.OpenAI, **params: object) -> SyncCursorPage[Thread]:
    """The SDK has no threads.list: its generic list call with its own cursor paginator."""
    return client.get_api_list("/threads", model=Thread, page=SyncCursorPage[Thread],
                               options={"params": params, "headers": V2})


def test_sdk_lists_threads_newest_first_and_auto_pages(client: openai.OpenAI) -> None:
    made = [client.beta.threads.create(metadata={"n": str(i)}).id for i in range(5)]
    first = sdk_list(client, limit=2)
    assert [t.id for t in first.data] == made[::-1][:2] and first.has_more
    assert isinstance(first.data[0], Thread) and first.data[0].metadata == {"n": "4"}
    assert first.data[0].tool_resources is not None
    walked = []
    for thread in sdk_list(client, limit=2):  # the paginator follows `after` itself
        walked.append(thread.id)
        if len(walked) == 5:
            break
    assert walked == made[::-1]
    oldest_first = sdk_list(client, limit=3, order="asc", after=made[0])
    assert [t.id for t in oldest_first.data] == made[1:4] and oldest_first.has_more


def test_raw_http_cursors_and_shapes(client: openai.OpenAI, http: httpx.Client) -> None:
    made = [client.beta.threads.create().id for _ in range(4)]
    page = http.get("/threads", params={"limit": 2, "before": made[1]}).json()
    assert page["object"] == "list"
    assert [t["id"] for t in page["data"]] == [made[3], made[2]]
    assert page["first_id"] == made[3] and page["last_id"] == made[2]
    after = http.get("/threads", params={"limit": 2, "after": made[2]}).json()
    assert [t["id"] for t in after["data"]] == [made[1], made[0]]
    v1 = http.get("/threads", params={"limit": 1}, headers={"OpenAI-Beta": "assistants=v1"})
    assert v1.status_code == 200
    assert set(v1.json()["data"][0]) == {"id", "object", "created_at", "metadata"}
    assert v1.json()["data"][0]["id"] == made[3]


def test_deleted_threads_leave_the_list(client: openai.OpenAI, http: httpx.Client) -> None:
    keep, gone = client.beta.threads.create().id, client.beta.threads.create().id
    client.beta.threads.delete(gone)
    ids = [t["id"] for t in http.get("/threads", params={"limit": 2}).json()["data"]]
    assert ids[0] == keep and gone not in ids


def test_threads_list_is_per_tenant(client: openai.OpenAI, other_client: openai.OpenAI,
                                    http: httpx.Client) -> None:
    mine = client.beta.threads.create().id
    theirs = other_client.beta.threads.create().id
    assert mine not in [t.id for t in sdk_list(other_client, limit=100).data]
    assert sdk_list(other_client, limit=1).data[0].id == theirs
    assert theirs not in [t["id"] for t in http.get("/threads", params={"limit": 100}).json()[
        "data"]]
    # Another tenant's thread id is no cursor here.
    resp = http.get("/threads", params={"after": theirs})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "after"


def test_bad_list_parameters_are_400s(http: httpx.Client) -> None:
    for params, param in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                          ({"order": "sideways"}, "order"), ({"before": "thread_nope"},
                                                             "before")):
        resp = http.get("/threads", params=params)
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["param"] == param
