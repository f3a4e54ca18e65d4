"""The run timeline renders every kind of tool call from step_details, escaped."""

from __future__ import annotations

from typing import Any

from orchestrator.inspector.pages import fragment
from orchestrator.inspector.views import RunView, StepView
from orchestrator.models import MessageRecord, RunRecord, RunStepRecord


def _step(n: int, details: dict[str, Any], **extra: Any) -> RunStepRecord:
    return RunStepRecord(id=f"step_{n}", tenant="ten_a", created_at=1_700_000_000 + n,
                         run_id="run_1", ordinal=n, thread_id="thread_1", assistant_id="asst_1",
                         type=details["type"], status="completed",
                         completed_at=1_700_000_002 + n, step_details=details, **extra)


def _render(steps: list[StepView], **run: Any) -> str:
    rec = RunRecord(id="run_1", tenant="ten_a", created_at=1_700_000_000, thread_id="thread_1",
                    assistant_id="asst_1", model="m", status=run.pop("status", "completed"),
                    **run)
    return fragment("_run_live.html", {"view": RunView(rec, steps)})


def test_code_interpreter_file_search_and_unknown_calls_render() -> None:
    code = _step(0, {"type": "tool_calls", "tool_calls": [{
        "id": "call_ci", "type": "code_interpreter", "code_interpreter": {
            "input": "print(6 * 7)",
            "outputs": [{"type": "logs", "logs": "42\n"},
                        {"type": "image", "image": {"file_id": "file-plot"}}]}}]})
    search = _step(1, {"type": "tool_calls", "tool_calls": [{
        "id": "call_fs", "type": "file_search", "file_search": {"results": [{
            "file_id": "file-doc", "file_name": "handbook.md", "score": 0.875,
            "content": [{"type": "text", "text": "Refunds take 5 days."}]}]}}]})
    odd = _step(2, {"type": "tool_calls", "tool_calls": [{
        "id": "call_x", "type": "web_browser", "web_browser": {"url": "https://example.org"}}]})
    html = _render([StepView(code, code.completed_at), StepView(search, search.completed_at),
                    StepView(odd, odd.completed_at)])
    assert "print(6 * 7)" in html and "42\n" in html
    assert '<img src="/inspector/files/file-plot"' in html
    assert "handbook.md" in html and "score 0.875" in html and "Refunds take 5 days." in html
    assert "web browser" in html and "https://example.org" in html
    assert html.index("step_0") < html.index("step_1") < html.index("step_2")
    assert html.count('class="duration"') == 3 and ">2 s<" in html


def test_errors_incomplete_details_and_text_are_escaped() -> None:
    msg = MessageRecord(id="msg_1", tenant="ten_a", thread_id="thread_1", role="assistant",
                        content=[{"type": "text", "text": {
                            "value": "<script>alert(1)</script>", "annotations": []}}])
    step = _step(0, {"type": "message_creation", "message_creation": {"message_id": "msg_1"}})
    html = _render([StepView(step, step.completed_at, [msg])], status="incomplete",
                   last_error={"code": "server_error", "message": "<b>boom</b>"},
                   incomplete_details={"reason": "max_completion_tokens"})
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;boom&lt;/b&gt;" in html and "max_completion_tokens" in html
    assert 'role="alert"' in html and "data-events" not in html


def test_active_run_page_subscribes_to_its_events() -> None:
    html = _render([], status="in_progress", version=3)
    assert 'data-events="/inspector/threads/thread_1/runs/run_1/events?v=3"' in html
    assert "Working on the next step" in html
