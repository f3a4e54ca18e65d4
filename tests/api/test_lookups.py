"""GET of a run, a step list, a message and a thread's run and message lists: which 404 a
wrong id gets.

A run or message found in its thread, or a page with rows, is answered without looking the
thread up (runs and messages go with their thread, ON DELETE CASCADE); every miss, empty page
or cursor looks the thread up, so the 404 names the thread when the thread is what is missing,
as at OpenAI, and the object otherwise.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest


def _404(call: Any) -> str:
    with pytest.raises(openai.NotFoundError) as exc:
        call()
    return str(exc.value.body["message"])  # type: ignore[index]


def test_a_run_by_the_wrong_thread_or_tenant(client: openai.OpenAI,
                                             other_client: openai.OpenAI) -> None:
    asst = client.beta.assistants.create(model="m")
    run = client.beta.threads.create_and_run(
        assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "hi"}]})
    mine = client.beta.threads.create()
    assert client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id).id == run.id
    assert _404(lambda: client.beta.threads.runs.retrieve(run.id, thread_id=mine.id)) == (
        f"No run found with id '{run.id}'.")
    assert _404(lambda: client.beta.threads.runs.steps.list(run.id, thread_id=mine.id)) == (
        f"No run found with id '{run.id}'.")
    assert _404(lambda: client.beta.threads.runs.retrieve(
        run.id, thread_id="thread_missing")) == "No thread found with id 'thread_missing'."
    assert _404(lambda: client.beta.threads.runs.retrieve(
        "run_missing", thread_id=run.thread_id)) == "No run found with id 'run_missing'."
    assert _404(lambda: other_client.beta.threads.runs.retrieve(
        run.id, thread_id=run.thread_id)) == f"No thread found with id '{run.thread_id}'."
    client.beta.threads.delete(run.thread_id)  # its runs go with it
    assert _404(lambda: client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)) == (
        f"No thread found with id '{run.thread_id}'.")


def test_a_message_by_the_wrong_thread_or_tenant(client: openai.OpenAI,
                                                 other_client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    msg = client.beta.threads.messages.create(thread.id, role="user", content="hi")
    mine = client.beta.threads.create()
    assert client.beta.threads.messages.retrieve(msg.id, thread_id=thread.id).id == msg.id
    assert _404(lambda: client.beta.threads.messages.retrieve(msg.id, thread_id=mine.id)) == (
        f"No message found with id '{msg.id}'.")
    assert _404(lambda: client.beta.threads.messages.retrieve(
        msg.id, thread_id="thread_missing")) == "No thread found with id 'thread_missing'."
    assert _404(lambda: other_client.beta.threads.messages.retrieve(
        msg.id, thread_id=thread.id)) == f"No thread found with id '{thread.id}'."
    client.beta.threads.delete(thread.id)
    assert _404(lambda: client.beta.threads.messages.retrieve(msg.id, thread_id=thread.id)) == (
        f"No thread found with id '{thread.id}'.")


def test_lists_of_a_thread_by_the_wrong_id_or_tenant(client: openai.OpenAI,
                                                     other_client: openai.OpenAI) -> None:
    """A page with rows is answered from them; an empty page, another tenant's thread or a
    cursor on a missing thread is checked against the thread."""
    asst = client.beta.assistants.create(model="m")
    run = client.beta.threads.create_and_run(
        assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "hi"}]})
    empty = client.beta.threads.create()
    threads = client.beta.threads
    assert [m.id for m in threads.messages.list(run.thread_id)] != []
    assert [r.id for r in threads.runs.list(run.thread_id)] == [run.id]
    assert list(threads.messages.list(empty.id)) == []
    assert list(threads.runs.list(empty.id)) == []
    gone = f"No thread found with id '{run.thread_id}'."
    assert _404(lambda: other_client.beta.threads.messages.list(run.thread_id)) == gone
    assert _404(lambda: other_client.beta.threads.runs.list(run.thread_id)) == gone
    missing = "No thread found with id 'thread_missing'."
    for call in (lambda: threads.messages.list("thread_missing"),
                 lambda: threads.runs.list("thread_missing"),
                 lambda: threads.messages.list("thread_missing", after="msg_x"),
                 lambda: threads.runs.list("thread_missing", before="run_x")):
        assert _404(call) == missing
    client.beta.threads.delete(run.thread_id)
    assert _404(lambda: threads.runs.list(run.thread_id)) == gone
