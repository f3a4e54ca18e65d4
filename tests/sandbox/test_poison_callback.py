"""A code result the run worker cannot record does not loop: the sandbox callback's failures
count against the run's attempts like any step's (a real database trigger refuses the write)."""

from __future__ import annotations

from typing import Any

import openai

from tests.sandbox.conftest import SandboxStack, script_code
from tests.support.db_faults import refuse
from tests.workers.conftest import wait_for

TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}
BUDGET = 5  # ORCH_MODEL_MAX_ATTEMPTS' default


def test_a_code_result_that_cannot_be_recorded_fails_the_run_within_the_budget(
        sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    st = sandboxed.st
    thread = sdk.beta.threads.create()
    # The sandbox answers, but the step can never be written as completed.
    refuse(st.env["ORCH_DATABASE_URL"], "run_steps",
           f"NEW.thread_id = '{thread.id}' AND NEW.type = 'tool_calls'"
           " AND NEW.status = 'completed'", timing="BEFORE UPDATE")
    marker = script_code(st, "n = globals().get('n', 0) + 1\nprint('run', n)")
    sdk.beta.threads.messages.create(thread_id=thread.id, role="user", content=marker)
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=tutor.id)
    done = wait_for(lambda: (r := sdk.beta.threads.runs.retrieve(
        run.id, thread_id=thread.id)).status in TERMINAL and r, timeout=150, every=0.5)
    assert done.status == "failed", (done.status, sandboxed.log(), st.worker_log())
    assert done.last_error.code == "server_error"
    assert f"failed {BUDGET} times" in done.last_error.message
    step = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data[0]
    assert step.type == "tool_calls" and step.status == "failed"
    asked = [r for r in st.model.requests()
             if any(marker in str(m.get("content")) for m in r["messages"])]
    assert len(asked) == 1  # the code was re-sent to the sandbox, the model never re-asked
