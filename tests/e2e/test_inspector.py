"""The run inspector in a real headless chromium against the live pipeline (SDK-made runs)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openai
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import VIEWER_ZONE
from tests.support.browser import png, sign_in
from tests.support.stack import Stack
from tests.workers.conftest import wait_for

WEATHER_TOOL: Any = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}


def run_url(site: Stack, run: Any) -> str:
    """The inspector page of a run."""
    return f"{site.api.url}/inspector/threads/{run.thread_id}/runs/{run.id}"


def function_run(sdk: openai.OpenAI, site: Stack, city: str) -> Any:
    """A completed run that called get_weather once and answered from its output."""
    asst = sdk.beta.assistants.create(model="scripted-model", name="Weather",
                                      instructions="Answer with the weather tool.",
                                      tools=[WEATHER_TOOL])
    question = f"What is the weather in {city}?"
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": question}])
    site.model.script({"match": question, "times": 1, "reply": {
        "tool_calls": [{"name": "get_weather", "arguments": json.dumps({"city": city})}]}})
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    assert run.status == "requires_action", run.last_error
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, poll_interval_ms=100,
        tool_outputs=[{"tool_call_id": call.id, "output": json.dumps({"temp_c": 21})}])
    assert run.status == "completed", run.last_error
    return run


def test_timeline_shows_function_calling_steps_in_order(page: Page, sdk: openai.OpenAI,
                                                        site: Stack) -> None:
    run = function_run(sdk, site, "Lyon")
    steps = sdk.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id,
                                             order="asc").data
    page.goto(site.api.url + "/inspector")
    page.get_by_role("link", name=run.id).click()
    page.wait_for_url(run_url(site, run))
    expect(page.locator("#run-status")).to_contain_text("completed")
    items = page.locator(".timeline > li.step")
    expect(items).to_have_count(2)
    assert [items.nth(i).get_attribute("id") for i in range(2)] == [s.id for s in steps]
    first, second = items.nth(0), items.nth(1)
    expect(first.locator("h3")).to_contain_text("Tool calls")
    expect(first.locator(".call-function h4")).to_contain_text("get_weather")
    assert json.loads(first.locator("pre.args").inner_text()) == {"city": "Lyon"}
    assert json.loads(first.locator("pre.output").inner_text()) == {"temp_c": 21}
    expect(second.locator("h3")).to_contain_text("Message")
    expect(second.locator(".text")).to_have_text('Tool said: {"temp_c": 21}')
    assert run.usage is not None
    expect(page.locator(".summary")).to_contain_text(f"= {run.usage.total_tokens} tokens")
    assert steps[0].usage is not None
    expect(first.locator(".tokens")).to_contain_text(f"= {steps[0].usage.total_tokens} tokens")
    expect(first.locator(".duration")).to_have_text(re.compile(r"^(< 1 s|\d+ s)$"))
    # Timestamps are shown in the viewer's zone, not the server's.
    created = datetime.fromtimestamp(run.created_at, ZoneInfo(VIEWER_ZONE))
    clock = f"{created.hour % 12 or 12}:{created:%M:%S}"
    stamp = page.locator(".summary time").first
    expect(stamp).to_contain_text(clock)
    assert "UTC" not in stamp.inner_text()


def test_live_run_updates_without_reload(page: Page, sdk: openai.OpenAI, site: Stack) -> None:
    asst = sdk.beta.assistants.create(model="scripted-model", instructions="Be slow.")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "slow question"}])
    site.model.script({"match": "slow question", "times": 1,
                       "reply": {"content": "A slow answer.", "delay_ms": 3000}})
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
    page.goto(run_url(site, run))
    expect(page.locator("#run-status .live")).to_be_visible()
    assert page.locator(".timeline > li.step").count() == 0
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#run-status")).to_contain_text("completed", timeout=20_000)
    expect(page.locator(".timeline > li.step .text")).to_have_text("A slow answer.")
    expect(page.locator("#run-status .live")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
    final = sdk.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
    assert final.status == "completed"


def test_streamed_run_page_follows_to_requires_action(page: Page, sdk: openai.OpenAI,
                                                      site: Stack) -> None:
    asst = sdk.beta.assistants.create(model="scripted-model", tools=[WEATHER_TOOL])
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "stream to Oslo"}])
    site.model.script({"match": "stream to Oslo", "times": 1, "reply": {
        "delay_ms": 2500,
        "tool_calls": [{"name": "get_weather", "arguments": json.dumps({"city": "Oslo"})}]}})
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as stream:
        first = next(iter(stream))
        run_id = first.data.id  # type: ignore[union-attr]
        page.goto(f"{site.api.url}/inspector/threads/{thread.id}/runs/{run_id}")
        expect(page.locator("#run-status .live")).to_be_visible()
        stream.until_done()
    expect(page.locator("#run-status")).to_contain_text("requires action", timeout=20_000)
    expect(page.locator(".notice")).to_contain_text("get_weather")
    expect(page.locator(".call-function .output")).to_have_text("Not submitted yet.")
    assert json.loads(page.locator("pre.args").inner_text()) == {"city": "Oslo"}
    sdk.beta.threads.runs.cancel(thread_id=thread.id, run_id=run_id)
    wait_for(lambda: sdk.beta.threads.runs.retrieve(
        thread_id=thread.id, run_id=run_id).status == "cancelled")
    expect(page.locator("#run-status")).to_contain_text("cancelled", timeout=10_000)


def test_streamed_answer_shows_while_it_is_written(page: Page, sdk: openai.OpenAI,
                                                    site: Stack) -> None:
    asst = sdk.beta.assistants.create(model="scripted-model")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "type slowly"}])
    answer = "one two three four five six seven eight"
    site.model.script({"match": "type slowly", "times": 1,
                       "reply": {"content": answer, "chunk_delay_ms": 700}})
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as stream:
        run_id = next(iter(stream)).data.id  # type: ignore[union-attr]
        page.goto(f"{site.api.url}/inspector/threads/{thread.id}/runs/{run_id}")
        typing = page.locator("#typing .text")
        expect(typing).to_contain_text("one two")
        partial = typing.inner_text()
        assert answer.startswith(partial) and partial != answer
        expect(page.locator("#run-status")).not_to_contain_text("completed")
        stream.until_done()
    expect(page.locator("#run-status")).to_contain_text("completed")
    expect(page.locator(".timeline > li.step .text")).to_have_text(answer)
    expect(page.locator("#typing")).to_have_count(0)


def test_image_file_content_renders(page: Page, sdk: openai.OpenAI, site: Stack) -> None:
    image = sdk.files.create(file=("chart.png", png(48, 30)), purpose="vision")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": [
        {"type": "text", "text": "What does this chart show?"},
        {"type": "image_file", "image_file": {"file_id": image.id}}]}])
    page.goto(site.api.url + "/inspector")
    page.get_by_role("link", name=thread.id).click()
    message = page.locator(".messages > li.message").first
    expect(message.locator(".role")).to_have_text("user")
    expect(message.locator(".text")).to_have_text("What does this chart show?")
    img = message.locator(".image img")
    expect(img).to_be_visible()
    img.evaluate("i => i.decode()")
    assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [48, 30]


def test_failed_run_shows_last_error_and_filters(page: Page, sdk: openai.OpenAI,
                                                 site: Stack) -> None:
    asst = sdk.beta.assistants.create(model="scripted-model")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "run code please"}])
    # A 400 from the model is not retried: the run fails at once with last_error.
    site.model.script({"match": "run code please", "times": 1, "reply": {"status": 400}})
    failed = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                   poll_interval_ms=100)
    assert failed.status == "failed" and failed.last_error is not None
    ok = sdk.beta.threads.runs.create_and_poll(
        thread_id=sdk.beta.threads.create(messages=[{"role": "user", "content": "hi"}]).id,
        assistant_id=asst.id, poll_interval_ms=100)
    assert ok.status == "completed"
    page.goto(site.api.url + "/inspector")
    page.get_by_label("Status").select_option("failed")
    page.wait_for_url(re.compile(r"status=failed"))
    expect(page.get_by_role("link", name=failed.id)).to_be_visible()
    expect(page.get_by_role("link", name=ok.id)).to_have_count(0)
    expect(page.locator("#results .status-completed")).to_have_count(0)
    page.get_by_label("Status").select_option("")
    page.get_by_label("Search by id").fill(ok.id[:12])
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"q=" + re.escape(ok.id[:12])))
    expect(page.get_by_role("link", name=ok.id)).to_be_visible()
    expect(page.get_by_role("link", name=failed.id)).to_have_count(0)
    step = sdk.beta.threads.runs.steps.list(thread_id=ok.thread_id, run_id=ok.id).data[0]
    page.get_by_label("Search by id").fill(step.id)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#runs-h")).to_contain_text(step.id)
    expect(page.locator("#results a[href*='/runs/']")).to_have_count(1)
    expect(page.get_by_role("link", name=ok.id)).to_be_visible()
    message = sdk.beta.threads.messages.list(thread_id=failed.thread_id).data[0]
    page.get_by_label("Search by id").fill(message.id)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#threads-h")).to_be_visible()
    expect(page.get_by_role("link", name=failed.thread_id)).to_have_count(1)
    bad = page.request.get(site.api.url + "/inspector?status=bogus")
    assert bad.status == 400 and "Unknown status filter" in bad.text()
    page.goto(run_url(site, failed))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(failed.last_error.code)
    expect(alert).to_contain_text(failed.last_error.message)


def test_other_tenant_sees_nothing(context: BrowserContext, sdk: openai.OpenAI,
                                   site: Stack) -> None:
    run = function_run(sdk, site, "Turin")
    image = sdk.files.create(file=("secret.png", png(8, 8)), purpose="vision")
    other = context.new_page()
    sign_in(other, site.api.url, site.api.keys[1])
    expect(other.get_by_text("No runs yet")).to_be_visible()
    for text in (run.id, run.thread_id):
        assert text not in other.content()
    other.get_by_label("Search by id").fill(run.id)
    other.get_by_role("button", name="Apply").click()
    expect(other.locator("#results")).to_contain_text("No runs match these filters")
    base = site.api.url + "/inspector"
    for url in (run_url(site, run), f"{base}/threads/{run.thread_id}",
                run_url(site, run) + "/events", f"{base}/files/{image.id}"):
        response = other.request.get(url)
        assert response.status == 404, url
        assert re.search(r"No thread found with id|No such File object", response.text()), url
        assert "Tool said" not in response.text() and "Turin" not in response.text()
        assert "get_weather" not in response.text()
    other.goto(run_url(site, run))
    expect(other.get_by_role("heading", name="Not found")).to_be_visible()


def test_unknown_key_cannot_sign_in(context: BrowserContext, site: Stack) -> None:
    page = context.new_page()
    base = site.api.url + "/inspector"
    page.goto(base)
    page.wait_for_url(re.compile(r"/inspector/login\?next="))
    page.get_by_label("API key").fill("sk-not-a-key-of-this-server")
    with page.expect_response(base + "/login") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("That API key is not known to this server.")
    assert "sk-not-a-key" not in page.content()
    assert context.cookies() == []
    # A valid key posted by another site's form is refused: no session from a cross-site post.
    forged = context.request.post(base + "/login", form={"key": site.api.keys[0]},
                                  headers={"Origin": "https://evil.example"}, max_redirects=0)
    assert forged.status == 403 and context.cookies() == []
    context.add_cookies([{"name": "orch_inspector", "value": "ten_x.9999999999.forged",
                          "domain": "127.0.0.1", "path": "/"}])
    page.goto(base)
    page.wait_for_url(re.compile(r"/inspector/login"))
    # The session cookie: HttpOnly, SameSite=Strict, never the key itself.
    sign_in(page, site.api.url, site.api.keys[0])
    cookie = next(c for c in context.cookies() if c["name"] == "orch_inspector")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert site.api.keys[0] not in cookie["value"]
    assert cookie["value"] not in page.evaluate("document.cookie")
    # The API itself still wants a bearer key: the cookie opens the inspector only.
    assert httpx.get(site.api.base_url + "/threads/x", cookies={
        "orch_inspector": cookie["value"]}).status_code == 401
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/inspector/login"))
    page.goto(base)
    page.wait_for_url(re.compile(r"/inspector/login"))


def test_keyboard_navigation_reaches_a_run(page: Page, sdk: openai.OpenAI, site: Stack) -> None:
    asst = sdk.beta.assistants.create(model="scripted-model")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "keyboard hello"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    page.goto(site.api.url + "/inspector")
    target = f"/inspector/threads/{thread.id}/runs/{run.id}"
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == target:
            break
    else:
        raise AssertionError("Tab never reached the run's link")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "focus is not visible"
    page.keyboard.press("Enter")
    page.wait_for_url(site.api.url + target)
    expect(page.locator(".timeline .text")).to_have_text("Echo: keyboard hello")


def test_response_shows_as_a_response_with_its_items_and_events(
        page: Page, sdk: openai.OpenAI, site: Stack) -> None:
    conv = sdk.conversations.create(items=[{"role": "user", "content": "Remember: 42."}])
    first = sdk.responses.create(model="scripted-model", input="inspect this response",
                                 conversation=conv.id)
    assert first.status == "completed" and first.output_text == "Echo: inspect this response"
    streamed = list(sdk.responses.create(model="scripted-model", input="and stream this one",
                                         stream=True))
    alone = streamed[-1].response
    assert alone.output_text == "Echo: and stream this one" and alone.conversation is None
    page.goto(site.api.url + "/inspector")
    row = page.locator("#results tr", has=page.get_by_role("link", name=first.id))
    expect(row.locator(".status")).to_have_text("completed")
    expect(row).to_contain_text("scripted-model")
    expect(row.get_by_role("link", name=conv.id)).to_be_visible()
    expect(page.locator("#results tr", has=page.get_by_role("link", name=alone.id))
           ).to_contain_text("no conversation")
    # A response's private thread is not listed; its conversation is.
    expect(page.locator("#threads-h + table").get_by_role("link", name=conv.id)).to_be_visible()
    row.get_by_role("link", name=first.id).click()
    page.wait_for_url(f"{site.api.url}/inspector/responses/{first.id}")
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator(".inputs .text")).to_have_text("inspect this response")
    output = page.locator(".outputs > li.message")
    expect(output).to_have_count(1)
    assert output.get_attribute("id") == first.output[0].id
    expect(output.locator(".text")).to_have_text(first.output_text)
    assert first.usage is not None
    expect(page.locator("#usage")).to_contain_text(f"= {first.usage.total_tokens} tokens")
    # A plain create waits for its end: one stored event, the final response.
    expect(page.locator(".events .event-type")).to_have_text(["response.completed"])
    page.get_by_role("link", name=conv.id).first.click()
    page.wait_for_url(f"{site.api.url}/inspector/conversations/{conv.id}")
    items = page.locator(".items > li.message")
    expect(items.locator(".text")).to_have_text(
        ["Remember: 42.", "inspect this response", "Echo: inspect this response"])
    expect(items.nth(0).locator(".writer")).to_have_count(0)
    expect(items.nth(1).locator(".writer")).to_have_text(f"input to response {first.id}")
    expect(items.nth(2).locator(".writer")).to_have_text(f"from response {first.id}")
    assert [i.id for i in sdk.conversations.items.list(conv.id, order="asc")] == [
        items.nth(n).get_attribute("id") for n in range(3)]
    # The streamed response's page lists the events its stream was sent, in order, but those
    # sent while the model was writing (not stored: the page says so).
    page.goto(f"{site.api.url}/inspector/responses/{alone.id}")
    while_writing = ("response.output_item.added", "response.content_part.added",
                     "response.output_text.delta")
    stored = [e.type for e in streamed if e.type not in while_writing]
    assert stored[0] == "response.created" and stored[-1] == "response.completed"
    expect(page.locator(".events .event-type")).to_have_text(stored)
    expect(page.locator("#events-h + table + p")).to_contain_text("only on the live stream")
    # Another tenant finds neither page.
    other = page.context.new_page()
    sign_in(other, site.api.url, site.api.keys[1])
    for path in (f"responses/{first.id}", f"conversations/{conv.id}",
                 f"responses/{alone.id}/events"):
        answer = other.request.get(f"{site.api.url}/inspector/{path}")
        assert answer.status == 404 and "inspect this response" not in answer.text(), path


def test_streamed_response_page_follows_its_text(page: Page, sdk: openai.OpenAI,
                                                 site: Stack) -> None:
    answer = "alpha beta gamma delta epsilon zeta eta theta"
    site.model.script({"match": "write it slowly", "times": 1,
                       "reply": {"content": answer, "chunk_delay_ms": 700}})
    with sdk.responses.create(model="scripted-model", input="write it slowly",
                              stream=True) as stream:
        response_id = next(iter(stream)).response.id  # type: ignore[union-attr]
        page.goto(f"{site.api.url}/inspector/responses/{response_id}")
        expect(page.locator("#run-status .live")).to_be_visible()
        typing = page.locator("#typing .text")
        expect(typing).to_contain_text("alpha beta")
        assert answer.startswith(typing.inner_text()) and typing.inner_text() != answer
        for _ in stream:
            pass
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator(".outputs .text")).to_have_text(answer)
    expect(page.locator("#typing")).to_have_count(0)
    expect(page.locator(".events .event-type").last).to_have_text("response.completed")
