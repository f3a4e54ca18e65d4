"""Batches of /v1/responses end to end: real API, worker, feeder and scripted model."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.responses import Response

from orchestrator.batches.questions import RESPONSES, Target, read_questions
from tests.batches.conftest import batch_line, db_scalar, read_answers, read_jsonl, run_cli, upload
from tests.support.stack import Stack
from tests.workers.conftest import wait_for

MODEL = "scripted-model"


def _line(custom_id: str, **body: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/responses", "body": body}


def _create(sdk: openai.OpenAI, lines: list[Any]) -> Any:
    return sdk.batches.create(input_file_id=upload(sdk, lines), endpoint="/v1/responses",
                              completion_window="24h")


def _wait_final(sdk: openai.OpenAI, batch_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = sdk.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} did not finish: {batch}")


def test_a_batch_of_questions_becomes_one_completed_response_each(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    n = 12
    lines = [_line(f"r-{i}", model=MODEL, instructions="Answer briefly.",
                   metadata={"n": str(i)},
                   input=f"responses question {i}" if i % 2 else [
                       {"role": "user", "content": [{"type": "input_text",
                                                     "text": f"responses question {i}"}]}])
             for i in range(n)]
    batch = _create(sdk, lines)
    assert batch.endpoint == "/v1/responses" and batch.request_counts.total == n
    done = _wait_final(sdk, batch.id)
    assert done.status == "completed", done
    assert (done.request_counts.completed, done.request_counts.failed) == (n, 0)
    assert done.error_file_id is None
    out = read_jsonl(sdk, done.output_file_id)
    assert [x["custom_id"] for x in out] == [f"r-{i}" for i in range(n)]
    for i, item in enumerate(out):
        assert item["error"] is None and item["id"].startswith("batch_req_")
        assert item["response"]["status_code"] == 200 and item["response"]["request_id"]
        response = Response.model_validate(item["response"]["body"])  # the SDK's own type
        assert response.object == "response" and response.status == "completed"
        assert response.output_text == f"Echo: responses question {i}"
        assert response.model == MODEL and response.metadata == {"n": str(i)}
        assert response.instructions == "Answer briefly."
        assert response.usage is not None and response.usage.output_tokens > 0
    # Each line is an ordinary stored response of the tenant's.
    first = out[0]["response"]["body"]
    again = sdk.responses.retrieve(first["id"])
    assert again.status == "completed" and again.output_text == "Echo: responses question 0"
    assert [i.id for i in again.output] == [i["id"] for i in first["output"]]
    items = sdk.responses.input_items.list(first["id"]).data
    assert [i.content[0].text for i in items] == ["responses question 0"]  # type: ignore[union-attr]


@pytest.mark.parametrize(("case", "body", "status_code", "param"), [
    # refused when the file is read (the body alone says so)
    ("out_of_range", {"model": MODEL, "input": "x", "temperature": 7}, 400, "temperature"),
    ("unknown_field", {"model": MODEL, "input": "x", "colour": "blue"}, 400, "colour"),
    ("stream", {"model": MODEL, "input": "x", "stream": True}, 400, "stream"),
    ("background", {"model": MODEL, "input": "x", "background": True}, 400, "background"),
    ("store_false", {"model": MODEL, "input": "x", "store": False}, 400, "store"),
    ("bad_item", {"model": MODEL, "input": [{"role": "user", "content": [
        {"type": "input_audio"}]}]}, 400, "input[0].content[0].type"),
    # refused by the response service when the line is fed
    ("missing_model", {"input": "x"}, 400, "model"),
    ("hosted_tool", {"model": MODEL, "input": "x", "tools": [{"type": "web_search"}]}, 400,
     "tools[0].type"),
    ("unknown_previous", {"model": MODEL, "input": "x", "previous_response_id": "resp_nope"},
     404, "previous_response_id"),
])
def test_a_bad_line_gets_an_error_line_naming_its_param_and_the_rest_complete(
        sdk: openai.OpenAI, pipeline: Stack, case: str, body: dict[str, Any],
        status_code: int, param: str) -> None:
    lines = [_line(f"{case}-{i}", model=MODEL, input=f"{case} good {i}") for i in range(4)]
    lines.insert(2, _line(f"{case}-bad", **body))
    done = _wait_final(sdk, _create(sdk, lines).id)
    assert done.status == "completed", done
    assert (done.request_counts.total, done.request_counts.completed,
            done.request_counts.failed) == (5, 4, 1)
    out = read_jsonl(sdk, done.output_file_id)
    assert [x["custom_id"] for x in out] == [f"{case}-{i}" for i in range(4)]
    assert [Response.model_validate(x["response"]["body"]).output_text for x in out] == [
        f"Echo: {case} good {i}" for i in range(4)]
    [bad] = read_jsonl(sdk, done.error_file_id)
    assert bad["custom_id"] == f"{case}-bad"
    assert bad["response"]["status_code"] == status_code
    error = bad["response"]["body"]["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error
    assert bad["error"]["message"] == error["message"] and error["message"]
    linked = db_scalar(pipeline, "SELECT count(*) FROM batch_requests WHERE batch_id = :b"
                                 " AND run_id IS NOT NULL", b=done.id)
    assert linked == 4  # the bad line never became a response


def test_the_same_body_is_refused_alike_by_post_responses(sdk: openai.OpenAI) -> None:
    """An error line says what POST /v1/responses says of the same body."""
    done = _wait_final(sdk, _create(sdk, [_line("t", model=MODEL, input="x",
                                                 temperature=7)]).id)
    [bad] = read_jsonl(sdk, done.error_file_id)
    with pytest.raises(openai.BadRequestError) as err:
        sdk.responses.create(model=MODEL, input="x", temperature=7)
    assert bad["response"]["body"]["error"] == err.value.body


def test_conversation_lines_and_a_failed_response(sdk: openai.OpenAI, pipeline: Stack) -> None:
    pipeline.model.script({"match": "please break", "reply": {"status": 500}})
    conv = sdk.conversations.create(items=[{"type": "message", "role": "user",
                                            "content": "batch conv: I am Ann"}])
    lines = [_line("c-1", model=MODEL, input="batch conv: who am I?", conversation=conv.id),
             _line("c-2", model=MODEL, input="please break"),
             _line("c-3", model=MODEL, input="batch conv: again", conversation=conv.id),
             _line("c-4", model=MODEL, input="batch conv: unknown", conversation="conv_nope")]
    done = _wait_final(sdk, _create(sdk, lines).id)
    assert done.status == "completed", done
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 3)
    [answered] = read_jsonl(sdk, done.output_file_id)
    body = answered["response"]["body"]
    assert answered["custom_id"] == "c-1" and body["conversation"] == {"id": conv.id}
    assert Response.model_validate(body).output_text == "Echo: batch conv: who am I?"
    items = sdk.conversations.items.list(conv.id, order="asc").data
    assert [i.content[0].text for i in items] == [  # type: ignore[union-attr]
        "batch conv: I am Ann", "batch conv: who am I?", "Echo: batch conv: who am I?"]
    errors = {x["custom_id"]: x for x in read_jsonl(sdk, done.error_file_id)}
    failed = errors["c-2"]  # the model failed: the response is there, status failed
    assert failed["response"]["status_code"] == 200
    assert failed["response"]["body"]["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    assert sdk.responses.retrieve(failed["response"]["body"]["id"]).status == "failed"
    # Line 3 names the conversation of line 1, fed in the same chunk: one active response
    # per conversation refuses it, the way a second POST /v1/responses is refused.
    busy = errors["c-3"]
    assert busy["response"]["status_code"] == 400
    assert "already has an active run" in busy["error"]["message"]
    unknown = errors["c-4"]["response"]
    assert unknown["status_code"] == 404
    assert unknown["body"]["error"]["param"] == "conversation"


WEATHER = {"type": "function", "name": "get_weather", "description": "Weather of a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}


def test_function_calls_in_a_batch(sdk: openai.OpenAI, pipeline: Stack) -> None:
    pipeline.model.script(*({"match": marker, "times": 1, "on": "user", "reply": {
        "tool_calls": [{"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}]}}
        for marker in ("batch fn: before", "batch fn: in batch")))
    earlier = sdk.responses.create(model=MODEL, input="batch fn: before", tools=[WEATHER])
    call = earlier.output[0]
    assert call.type == "function_call"
    # First in its chunk, the orphan output is checked against rows not yet flushed by any
    # earlier line of the chunk.
    lines = [_line("f-orphan", model=MODEL, input=[
                 {"type": "function_call_output", "call_id": "call_nowhere", "output": "x"}]),
             _line("f-call", model=MODEL, input="batch fn: in batch", tools=[WEATHER]),
             _line("f-answer", model=MODEL, previous_response_id=earlier.id, tools=[WEATHER],
                   input=[{"type": "function_call_output", "call_id": call.call_id,
                           "output": "sunny"}])]
    done = _wait_final(sdk, _create(sdk, lines).id)
    assert done.status == "completed", done
    out = {x["custom_id"]: Response.model_validate(x["response"]["body"])
           for x in read_jsonl(sdk, done.output_file_id)}
    [asked] = out["f-call"].output  # the call ends the response, as in POST /v1/responses
    assert asked.type == "function_call" and asked.name == "get_weather"
    assert out["f-call"].status == "completed"
    assert out["f-answer"].output_text == "Tool said: sunny"
    assert out["f-answer"].previous_response_id == earlier.id
    [orphan] = read_jsonl(sdk, done.error_file_id)
    assert orphan["custom_id"] == "f-orphan"
    assert orphan["response"]["body"]["error"]["param"] == "input"
    assert "call_nowhere" in orphan["error"]["message"]


def test_lines_must_name_the_batch_endpoint(sdk: openai.OpenAI, assistant: Any,
                                           pipeline: Stack) -> None:
    before = int(db_scalar(pipeline, "SELECT count(*) FROM batches"))
    mixed = [_line("a", model=MODEL, input="one"), batch_line("b", assistant.id, "two"),
             _line("c", model=MODEL, input="three")]
    with pytest.raises(openai.BadRequestError) as err:
        _create(sdk, mixed)
    message = err.value.body["message"]  # type: ignore[index]
    assert "line 2:" in message and "'url' must be '/v1/responses'" in message, message
    assert err.value.body["param"] == "input_file_id"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as err:  # and the other way round
        sdk.batches.create(input_file_id=upload(sdk, [batch_line("a", assistant.id, "one"),
                                                      _line("b", model=MODEL, input="two")]),
                           endpoint="/v1/threads/runs",  # type: ignore[arg-type]
                           completion_window="24h")
    assert "line 2:" in err.value.body["message"]  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as err:  # the endpoints served are listed
        sdk.batches.create(input_file_id=upload(sdk, [_line("a", model=MODEL, input="x")]),
                           endpoint="/v1/embeddings", completion_window="24h")
    message = err.value.body["message"]  # type: ignore[index]
    assert "'/v1/threads/runs'" in message and "'/v1/responses'" in message, message
    assert int(db_scalar(pipeline, "SELECT count(*) FROM batches")) == before


def test_cancel_stops_the_responses(sdk: openai.OpenAI, pipeline: Stack) -> None:
    pipeline.model.script({"match": "slow response", "reply": {"delay_ms": 1500,
                                                                "content": "slow"}})
    n = 60
    batch = _create(sdk, [_line(f"s-{i}", model=MODEL, input=f"slow response {i}")
                          for i in range(n)])
    wait_for(lambda: int(db_scalar(
        pipeline, "SELECT count(*) FROM batch_requests WHERE batch_id = :b"
                  " AND run_id IS NOT NULL", b=batch.id)) > 0, timeout=30)
    assert sdk.batches.cancel(batch.id).status == "cancelling"
    done = _wait_final(sdk, batch.id, timeout=60)
    assert done.status == "cancelled", done
    counts = done.request_counts
    assert counts.completed < n and counts.failed > 0
    cancelled = read_jsonl(sdk, done.error_file_id)
    assert len(cancelled) == counts.failed
    assert {x["response"]["body"]["status"] for x in cancelled} == {"cancelled"}
    assert {x["error"]["code"] for x in cancelled} == {"response_cancelled"}
    one = cancelled[0]["response"]["body"]["id"]
    assert sdk.responses.retrieve(one).status == "cancelled"


def test_cli_asks_a_model_through_responses(pipeline: Stack, tmp_path: Path) -> None:
    questions = tmp_path / "q.csv"
    questions.write_text('id,question\nfirst,cli response one\nsecond,"cli response, two"\n')
    output = tmp_path / "answers.jsonl"
    proc = run_cli(pipeline, str(questions), "--endpoint", "/v1/responses", "--model", MODEL,
                   "-o", str(output))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "completed: 2 answered, 0 not" in out
    assert read_answers(output) == [
        {"custom_id": "first", "question": "cli response one",
         "answer": "Echo: cli response one", "status": "completed"},
        {"custom_id": "second", "question": "cli response, two",
         "answer": "Echo: cli response, two", "status": "completed"}]


def test_cli_needs_a_model_for_responses(pipeline: Stack, tmp_path: Path) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text("hello\n")
    proc = run_cli(pipeline, str(questions), "--endpoint", "/v1/responses")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "--model is required with --endpoint /v1/responses" in out


def test_questions_for_responses_accept_questions_and_full_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    full = _line("full", model="other-model", input=[
        {"role": "user", "content": [{"type": "input_text", "text": "as given"}]}])
    path.write_text(json.dumps({"custom_id": "a", "question": "short"}) + "\n"
                    + json.dumps(full) + "\n")
    qs = read_questions(path, Target(RESPONSES, model=MODEL))
    assert [(q.custom_id, q.question) for q in qs] == [
        ("a", "short"), ("full", '[{"type": "input_text", "text": "as given"}]')]
    assert qs[0].line == _line("a", model=MODEL, input="short")
    assert qs[1].line == full
