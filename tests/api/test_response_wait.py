"""A plain response waits for its answer, but not for ever: with no worker it answers with
the response as it is once ORCH_RESPONSE_WAIT_SECONDS (2 s on this server) have passed."""

from __future__ import annotations

import time

import openai


def test_a_plain_create_with_no_worker_answers_in_progress_after_the_wait(
        client: openai.OpenAI) -> None:
    started = time.monotonic()
    r = client.responses.create(model="m", input="nobody answers")
    waited = time.monotonic() - started
    assert r.status == "queued" and r.output == [] and r.id.startswith("resp_")
    assert 1.5 < waited < 30
    assert client.responses.retrieve(r.id).status == "queued"  # still there, for later
