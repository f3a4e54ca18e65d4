"""Screenshots of the inspector for docs/: python -m tests.e2e.screenshots [OUT_DIR].

Starts the real pipeline (SQLite, scripted model, worker, beat), makes a few runs through the
SDK, and captures the run list, a thread, a run timeline, a response and a conversation in
Debian's chromium.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import openai

from tests.support.browser import chromium, png_rows, sign_in
from tests.support.servers import sqlite_database
from tests.support.stack import Stack, stack

WEATHER: Any = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"type": "string"}},
                   "required": ["city"]}}}


def bar_chart(width: int = 360, height: int = 200) -> bytes:
    """A small bar chart PNG drawn pixel by pixel (no imaging library needed)."""
    bars = [0.35, 0.6, 0.45, 0.85, 0.7]
    rows = []
    for y in range(height):
        row = []
        for x in range(width):
            slot, inner = divmod(x - 20, 66)
            level = 1 - y / (height - 20)
            if y >= height - 20 or x < 20 or slot >= len(bars) or inner > 50:
                row.append((255, 255, 255) if y != height - 20 else (90, 90, 90))
            elif level <= bars[slot]:
                row.append((44, 110, 190) if slot != 3 else (230, 120, 40))
            else:
                row.append((255, 255, 255))
        rows.append(row)
    return png_rows(rows)


def make_runs(sdk: openai.OpenAI, st: Stack) -> dict[str, Any]:
    """A function-calling run, a failed run, a plain run, a thread with an image, and two
    responses (one in a conversation)."""
    helper = sdk.beta.assistants.create(
        model="llama3.1", name="Trip planner", tools=[WEATHER],
        instructions="You help people plan trips. Check the weather before suggesting plans.")
    question = "I'm in Paris tomorrow. Should I plan a picnic or a museum day?"
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": question}],
                                     metadata={"user": "jane"})
    st.model.script({"match": question, "times": 1, "reply": {"tool_calls": [
        {"name": "get_weather", "arguments": json.dumps({"city": "Paris", "unit": "celsius"})}],
        "usage": {"prompt_tokens": 182, "completion_tokens": 21, "total_tokens": 203}}})
    st.model.script({"match": "light rain", "times": 1, "reply": {
        "content": "Tomorrow looks wet in Paris (14 °C, light rain from noon), so a museum day "
                   "is the better plan: the Musée d'Orsay in the morning, then the covered "
                   "passages around the Palais-Royal. Keep the picnic for Saturday, which "
                   "should be dry.",
        "usage": {"prompt_tokens": 231, "completion_tokens": 58, "total_tokens": 289}}})
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=helper.id,
                                                poll_interval_ms=100)
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, poll_interval_ms=100, tool_outputs=[{
            "tool_call_id": call.id, "output": json.dumps(
                {"city": "Paris", "temp_c": 14, "sky": "light rain", "wind_kmh": 18})}])
    coder = sdk.beta.assistants.create(model="llama3.1", name="Analyst",
                                       tools=[{"type": "code_interpreter"}])
    failing = sdk.beta.threads.create(messages=[{"role": "user", "content": "Plot sales by month"}])
    st.model.script({"match": "Plot sales", "times": 1, "reply": {"tool_calls": [
        {"name": "code_interpreter", "arguments": json.dumps({"code": "df.plot()"})}]}})
    sdk.beta.threads.runs.create_and_poll(thread_id=failing.id, assistant_id=coder.id,
                                          poll_interval_ms=100)
    chart = sdk.files.create(file=("sales-by-month.png", bar_chart()), purpose="vision")
    pictured = sdk.beta.threads.create(messages=[{"role": "user", "content": [
        {"type": "text", "text": "Here is last quarter's chart. Which month stands out?"},
        {"type": "image_file", "image_file": {"file_id": chart.id}}]}])
    st.model.script({"match": "Which month stands out", "times": 1, "reply": {
        "content": "The fourth bar (April) stands out: it is about twice the first month."}})
    sdk.beta.threads.runs.create_and_poll(thread_id=pictured.id, assistant_id=helper.id,
                                          poll_interval_ms=100)
    for n in range(3):
        t = sdk.beta.threads.create(messages=[{"role": "user", "content": f"Hello #{n}"}])
        sdk.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=helper.id,
                                              poll_interval_ms=100)
    trip = sdk.conversations.create(metadata={"user": "jane"}, items=[
        {"role": "user", "content": "We are two adults and a child, visiting Lyon in May."}])
    st.model.script({"match": "What should we see first", "times": 1, "reply": {
        "content": "Start with Vieux Lyon and the funicular up to Fourvière: short walks, "
                   "a view of the whole city, and traboules the child can explore.",
        "usage": {"prompt_tokens": 64, "completion_tokens": 31, "total_tokens": 95}}})
    response = sdk.responses.create(model="llama3.1", conversation=trip.id,
                                    instructions="You are a friendly travel guide.",
                                    input="What should we see first?")
    sdk.responses.create(model="llama3.1", input="Say hello in French.")
    return {"run": run, "thread": pictured, "response": response, "conversation": trip}


def capture(st: Stack, made: dict[str, Any], out: Path) -> None:
    """The main views as PNG files."""
    with chromium() as browser:
        ctx = browser.new_context(locale="en-GB", timezone_id="Europe/Paris",
                                  viewport={"width": 1200, "height": 760})
        page = ctx.new_page()
        sign_in(page, st.api.url, st.api.keys[0])
        page.screenshot(path=str(out / "inspector-runs.png"))
        page.goto(f"{st.api.url}/inspector/threads/{made['thread'].id}")
        page.locator(".image img").evaluate("i => i.decode()")
        page.screenshot(path=str(out / "inspector-thread.png"))
        run = made["run"]
        page.goto(f"{st.api.url}/inspector/threads/{run.thread_id}/runs/{run.id}")
        page.screenshot(path=str(out / "inspector-run.png"), full_page=True)
        page.goto(f"{st.api.url}/inspector/responses/{made['response'].id}")
        page.screenshot(path=str(out / "inspector-response.png"), full_page=True)
        page.goto(f"{st.api.url}/inspector/conversations/{made['conversation'].id}")
        page.screenshot(path=str(out / "inspector-conversation.png"))
        ctx.close()


def main() -> None:
    """Build the stack, make the runs, take the pictures."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs").absolute()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sqlite_database(Path(tmp)) as url, \
            stack(url, Path(tmp)) as st:
        sdk = openai.OpenAI(base_url=st.api.base_url, api_key=st.api.keys[0], max_retries=0)
        capture(st, make_runs(sdk, st), out)
    for name in sorted(out.glob("inspector-*.png")):
        print(name, name.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
