"""v1 `retrieval` through openai==1.20.0: assistant and message file_ids, no vector-store calls."""

from __future__ import annotations

import json

from tests.sdk_v1.scenarios import V1_MESSAGE_QUESTION, V1_QUESTION
from tests.support.sdk_v1 import ensure_sdk1_venv, run_scenario
from tests.support.stack import Stack


def test_v1_retrieval_over_assistant_and_message_files(pipeline: Stack) -> None:
    pipeline.model.script(
        {"match": V1_QUESTION, "times": 1, "reply": {"tool_calls": [
            {"name": "retrieval", "arguments": json.dumps({"query": "Sablewick lighthouse"})}]}},
        {"match": V1_QUESTION, "times": 1, "reply": {"quote_tool": "Sablewick"}},
        {"match": V1_MESSAGE_QUESTION, "times": 1, "reply": {"tool_calls": [
            {"name": "retrieval", "arguments": json.dumps({"query": "Orrin gate password"})}]}},
        {"match": V1_MESSAGE_QUESTION, "times": 1, "reply": {"quote_tool": "Orrin"}})
    result = run_scenario(ensure_sdk1_venv(), pipeline.api, "retrieval_runs")
    assert result["sdk_version"] == "1.20.0"
    for case, file_key, words in (("assistant", "kept", "Port Elmore"),
                                  ("message", "sent", "thistledown")):
        got = result[case]
        assert got["status"] == "completed", got["last_error"]
        assert [s["type"] for s in got["steps"]] == ["tool_calls", "message_creation"]
        call = got["steps"][0]["step_details"]["tool_calls"][0]
        assert call["type"] == "retrieval" and call["retrieval"] == {}
        assert words in got["answer"] and "【" in got["answer"]
        ann = got["annotations"][0]
        assert ann["type"] == "file_citation"
        assert ann["file_citation"]["file_id"] == result[file_key]
        assert words in ann["file_citation"]["quote"]
        assert got["answer"][ann["start_index"]:ann["end_index"]] == ann["text"]
    tool_prompt = [m["content"] for r in pipeline.model.requests() for m in r["messages"]
                   if m["role"] == "tool"]
    assert any("Port Elmore" in t for t in tool_prompt)
    assert any("thistledown" in t for t in tool_prompt)
