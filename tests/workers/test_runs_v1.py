"""Runs through the last v1 client (openai==1.20.0, strict validation) against real workers."""

from __future__ import annotations

from tests.support.sdk_v1 import ensure_sdk1_venv, run_scenario
from tests.support.stack import Stack

V1_RUN_FIELDS = {"id", "object", "created_at", "thread_id", "assistant_id", "status",
                 "required_action", "last_error", "expires_at", "started_at", "cancelled_at",
                 "failed_at", "completed_at", "model", "instructions", "tools", "file_ids",
                 "metadata", "usage"}


def test_v1_client_runs_quickstart_and_function_calls(pipeline: Stack) -> None:
    pipeline.model.script(
        {"match": "3x + 11 = 14", "times": 1, "reply": {"content": "Jane Doe: x = 1"}},
        {"match": "v1 call lookup", "times": 1,
         "reply": {"tool_calls": [{"name": "lookup", "arguments": "{}"}]}})
    result = run_scenario(ensure_sdk1_venv(), pipeline.api, "runs")
    assert result["sdk_version"] == "1.20.0"
    assert result["status"] == "completed" and result["answer"] == "Jane Doe: x = 1"
    run = result["run_json"]
    assert set(run) >= V1_RUN_FIELDS and run["file_ids"] == []
    assert run["instructions"] == "Please address the user as Jane Doe."
    assert result["answer_run_id"] == run["id"] and result["answer_file_ids"] == []
    assert result["steps"] == ["message_creation"]
    assert result["waiting"] == "requires_action" and result["call_name"] == "lookup"
    assert result["final"] == "completed" and result["reply"] == "Tool said: found it"
