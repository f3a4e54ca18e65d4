"""The last v1 client, openai==1.20.0 (`OpenAI-Beta: assistants=v1`), in strict mode.

The SDK needs httpx<0.28, so it runs in .venv-sdk1 (created here when missing) through the
scenario scripts in tests/sdk_v1/; each prints the raw JSON it received, and every response
was already validated against the 1.20.0 models (`_strict_response_validation=True`).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.sdk_v1 import ensure_sdk1_venv, run_scenario
from tests.support.servers import ApiServer

# Required (and always emitted) fields of the v1 objects, from the last v1 OpenAPI spec
# (openai-openapi af97d0a), a superset of what the 1.20.0 pydantic models require.
V1_ASSISTANT = {"id", "object", "created_at", "name", "description", "model", "instructions",
                "tools", "file_ids", "metadata"}
V1_THREAD = {"id", "object", "created_at", "metadata"}
V1_MESSAGE = {"id", "object", "created_at", "thread_id", "status", "incomplete_details",
              "completed_at", "incomplete_at", "role", "content", "assistant_id", "run_id",
              "file_ids", "metadata"}
V1_ASSISTANT_FILE = {"id", "object", "created_at", "assistant_id"}
V1_MESSAGE_FILE = {"id", "object", "created_at", "message_id"}
V1_LIST = {"object", "data", "first_id", "last_id", "has_more"}
V2_ONLY = {"tool_resources", "attachments"}
QUESTION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"


@pytest.fixture(scope="session")
def sdk1() -> Path:
    """The python of .venv-sdk1, built on first use (`python3 -m venv` + pip)."""
    return ensure_sdk1_venv()


def scenario(sdk1: Path, server: ApiServer, name: str) -> dict[str, Any]:
    result = run_scenario(sdk1, server, name)
    assert result.pop("sdk_version") == "1.20.0"
    return result


def has_fields(obj: dict[str, Any], fields: set[str]) -> None:
    """Every v1 field present, no v2-only field leaked into a v1 response."""
    assert fields <= set(obj), f"missing v1 fields {sorted(fields - set(obj))} in {obj}"
    assert not (V2_ONLY & set(obj)), f"v2-only fields {sorted(V2_ONLY & set(obj))} in {obj}"
    assert isinstance(obj["id"], str) and obj["id"]
    assert isinstance(obj["created_at"], int) and obj["created_at"] > 1_600_000_000


def subset(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {k: obj.get(k) for k in expected} == expected, obj


def error(result: dict[str, Any], exc: str, status: int) -> dict[str, Any]:
    assert result["exc"] == exc and result["status"] == status, result
    body = result["body"]
    assert set(body) == {"message", "type", "param", "code"}, body
    assert body["type"] == "invalid_request_error" and body["message"]
    return dict(body)


def test_v1_quickstart_raw_shapes(sdk1: Path, server: ApiServer) -> None:
    out = scenario(sdk1, server, "quickstart")
    assert out["betas"] == ["assistants=v1"]

    asst = out["assistant"]
    has_fields(asst, V1_ASSISTANT)
    assert asst["id"].startswith("asst_") and len(asst["id"]) > 20
    subset(asst, {
        "object": "assistant", "name": "Math Tutor", "description": None,
        "model": "gpt-4-1106-preview",
        "instructions": "You are a personal math tutor. Write and run code to answer math"
                        " questions.",
        "tools": [{"type": "code_interpreter"}], "file_ids": [], "metadata": {},
    })
    assert out["assistant_parsed"] == {"id": asst["id"], "tools": ["code_interpreter"],
                                       "file_ids": []}
    assert out["assistant_retrieved"]["id"] == asst["id"]
    assert out["assistant_retrieved"]["file_ids"] == []

    thread = out["thread"]
    has_fields(thread, V1_THREAD)
    assert thread["id"].startswith("thread_")
    subset(thread, {"object": "thread", "metadata": {}})

    msg = out["message"]
    has_fields(msg, V1_MESSAGE)
    assert msg["id"].startswith("msg_")
    subset(msg, {
        "object": "thread.message", "thread_id": thread["id"], "status": "completed",
        "incomplete_details": None, "incomplete_at": None, "role": "user",
        "content": [{"type": "text", "text": {"value": QUESTION, "annotations": []}}],
        "assistant_id": None, "run_id": None, "file_ids": [], "metadata": {},
    })
    assert out["message_parsed"] == {"id": msg["id"], "role": "user", "status": "completed",
                                     "text": QUESTION, "file_ids": []}

    page = out["list"]
    assert set(page) == V1_LIST and page["object"] == "list"
    assert page["data"] == [msg]
    subset(page, {"first_id": msg["id"], "last_id": msg["id"], "has_more": False})
    assert out["list_parsed_ids"] == out["listed_ids"] == [msg["id"]]


def test_v1_retrieval_tool(sdk1: Path, server: ApiServer, http: httpx.Client) -> None:
    out = scenario(sdk1, server, "retrieval")
    assert out["betas"] == ["assistants=v1"]
    created = out["created"]
    has_fields(created, V1_ASSISTANT)
    assert [t["type"] for t in created["tools"]] == ["retrieval", "code_interpreter", "function"]
    assert created["tools"][0] == {"type": "retrieval"}
    assert created["tools"][2]["function"]["name"] == "lookup"
    assert out["retrieved"] == created and out["in_list"]
    assert out["parsed_tools"] == ["retrieval", "code_interpreter", "function"]
    assert out["updated_tools"] == ["retrieval"]
    # v1 has no `file_search`; the v2 view of the same assistant renames retrieval.
    assert error(out["file_search"], "BadRequestError", 400)["param"] == "tools[0].type"
    v2 = http.get(f"/assistants/{created['id']}").json()
    assert v2["tools"] == [{"type": "file_search"}] and "file_ids" not in v2


def test_v1_autopaging_stops_on_empty_page(sdk1: Path, server: ApiServer) -> None:
    """1.20.0 ignores has_more: it asks `after=<last id>` until a page comes back empty."""
    out = scenario(sdk1, server, "paging")
    created = out["created"]
    for order, ids, calls, limit in (("asc", out["asc"], out["asc_calls"], 2),
                                     ("desc", out["desc"], out["desc_calls"], 3)):
        assert len(ids) == len(set(ids)), f"{order}: an item was listed twice"
        mine = [i for i in ids if i in created]
        assert mine == (created if order == "asc" else created[::-1]), order
        assert len(calls) == -(-len(ids) // limit) + 1, calls  # full pages + the empty one
        assert all(c["status"] == 200 and c["beta"] == "assistants=v1" for c in calls)
        assert "after" not in calls[0]["params"]
        for prev, nxt in itertools.pairwise(calls):
            assert nxt["params"]["after"] == prev["last_id"], calls
            assert nxt["params"]["limit"] == str(limit)
        assert [c["count"] for c in calls[:-1]] == [min(limit, len(ids) - i * limit)
                                                    for i in range(len(calls) - 1)]
        assert calls[-2]["has_more"] is False
        assert calls[-1]["count"] == 0 and calls[-1]["has_more"] is False
        assert calls[-1]["last_id"] is None


def test_v1_update_and_delete(sdk1: Path, server: ApiServer) -> None:
    out = scenario(sdk1, server, "update_delete")
    updated = out["updated"]
    has_fields(updated, V1_ASSISTANT)
    subset(updated, {"id": out["id"], "name": "after", "description": "d", "model": "gpt-4",
                     "instructions": "Be brief.", "tools": [{"type": "retrieval"}],
                     "metadata": {"k": "w", "x": "y"}, "file_ids": []})
    subset(out["model_only"], {"model": "gpt-4-turbo", "name": "after",
                               "instructions": "Be brief.", "metadata": {"k": "w", "x": "y"}})
    assert out["retrieved"] == out["model_only"]
    assert out["deleted"] == {"id": out["id"], "object": "assistant.deleted", "deleted": True}
    assert out["deleted_parsed"] == out["deleted"]
    for key in ("retrieve_after", "delete_again"):
        body = error(out[key], "NotFoundError", 404)
        assert body["message"] == f"No assistant found with id '{out['id']}'."


def test_v1_assistant_files(sdk1: Path, server: ApiServer, http: httpx.Client) -> None:
    out = scenario(sdk1, server, "assistant_files")
    f1, f2, f3 = out["file_ids"]
    assert out["file"]["object"] == "file" and out["file"]["purpose"] == "assistants"
    assert out["file"]["filename"] == "notes.txt" and out["file"]["bytes"] == 17
    assert out["file_retrieved"]["id"] == f1

    asst = out["assistant"]
    has_fields(asst, V1_ASSISTANT)
    assert asst["file_ids"] == [f1] and asst["tools"] == [{"type": "retrieval"}]
    aid = asst["id"]

    attached = out["attached"]
    assert set(attached) == V1_ASSISTANT_FILE
    subset(attached, {"id": f2, "object": "assistant.file", "assistant_id": aid})
    assert out["attach_again"] == attached  # attaching twice returns the same link
    assert out["retrieved"] == attached

    page = out["list"]
    assert set(page) == V1_LIST
    assert [f["id"] for f in page["data"]] == [f3, f2, f1]  # newest first
    assert all(set(f) == V1_ASSISTANT_FILE and f["assistant_id"] == aid for f in page["data"])
    subset(page, {"first_id": f3, "last_id": f1, "has_more": False})
    assert out["listed_limit1_asc"] == [f1, f2, f3]
    paged = [c for c in out["list_calls"] if c["params"].get("limit") == "1"]
    assert [c["count"] for c in paged] == [1, 1, 1, 0]
    assert [c["params"].get("after") for c in paged] == [None, f1, f2, f3]

    assert out["file_ids_before"] == [f1, f2, f3]
    assert out["deleted"] == {"id": f2, "object": "assistant.file.deleted", "deleted": True}
    assert out["file_ids_after"] == [f1, f3]
    assert out["listed_after"] == [f1, f3]
    error(out["retrieve_after"], "NotFoundError", 404)
    assert error(out["create_unknown"], "BadRequestError", 400)["param"] == "file_ids[0]"
    assert error(out["attach_unknown"], "BadRequestError", 400)["param"] == "file_id"

    # The same assistant through v2: v1 files show as code-interpreter resources.
    v2 = http.get(f"/assistants/{aid}").json()
    assert "file_ids" not in v2
    assert v2["tool_resources"] == {"code_interpreter": {"file_ids": [f1, f3]}}


def test_v1_message_files(sdk1: Path, server: ApiServer) -> None:
    out = scenario(sdk1, server, "message_files")
    assert out["betas"] == ["assistants=v1"]
    f1, f2 = out["file_ids"]
    msg = out["message"]
    has_fields(msg, V1_MESSAGE)
    subset(msg, {"file_ids": [f1, f2], "metadata": {"m": "1"}, "role": "user",
                 "content": [{"type": "text", "text": {"value": "Please read both files.",
                                                       "annotations": []}}]})

    page = out["files_list"]
    assert set(page) == V1_LIST
    assert [f["id"] for f in page["data"]] == [f2, f1]
    for f in page["data"]:
        assert set(f) == V1_MESSAGE_FILE
        subset(f, {"object": "thread.message.file", "message_id": msg["id"]})
    assert out["listed_limit1_asc"] == [f1, f2]
    assert set(out["file"]) == V1_MESSAGE_FILE
    subset(out["file"], {"id": f2, "object": "thread.message.file", "message_id": msg["id"]})

    assert out["retrieved"]["file_ids"] == [f1, f2] and out["retrieved"]["id"] == msg["id"]
    assert out["updated"]["metadata"] == {"m": "2"}
    assert out["updated"]["file_ids"] == [f1, f2]
    assert [(m["text"], m["file_ids"]) for m in out["seeded"]] == [("first", [f1]),
                                                                   ("second", [])]
    error(out["unknown_file"], "NotFoundError", 404)
    assert error(out["create_unknown"], "BadRequestError", 400)["param"] == "file_ids[0]"


def test_v1_thread_update_delete(sdk1: Path, server: ApiServer) -> None:
    out = scenario(sdk1, server, "threads")
    created = out["created"]
    has_fields(created, V1_THREAD)
    tid = created["id"]
    subset(created, {"object": "thread", "metadata": {"a": "1"}})
    has_fields(out["updated"], V1_THREAD)
    subset(out["updated"], {"id": tid, "metadata": {"a": "2", "b": "3"},
                            "created_at": created["created_at"]})
    assert out["retrieved"]["metadata"] == {"a": "2", "b": "3"}
    assert out["deleted"] == {"id": tid, "object": "thread.deleted", "deleted": True}
    for key in ("retrieve_after", "messages_after"):
        body = error(out[key], "NotFoundError", 404)
        assert body["message"] == f"No thread found with id '{tid}'."


def test_v1_unknown_ids_are_not_found(sdk1: Path, server: ApiServer) -> None:
    out = scenario(sdk1, server, "not_found")
    assert len(out) == 15
    for name, result in out.items():
        body = error(result, "NotFoundError", 404)
        assert "doesnotexist" in body["message"], (name, body)
