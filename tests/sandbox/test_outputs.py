"""What a code step reads and leaves: odd file names, a result that cannot be recorded, and v1
files under /mnt/data/<file id>."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import openai

from tests.sandbox.conftest import SandboxStack, logs_of, run_code, script_code
from tests.support.sdk_v1 import ensure_sdk1_venv


def _blobs(box: SandboxStack) -> set[Path]:
    return set((box.st.api.data_dir / "blobs" / "files").glob("*/*"))


def _rowless(sdk: openai.OpenAI, new: set[Path]) -> list[str]:
    """Blobs among `new` that no file row (of this tenant) owns."""
    ids = {f.id for f in sdk.files.list()}
    return sorted(p.name for p in new if p.name not in ids)


def test_a_file_name_that_is_not_utf8_is_exported_renamed(
        sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    before = _blobs(sandboxed)
    code = ("open(b'/mnt/data/\\xff\\xfe.txt', 'wb').write(b'odd name')\n"
            "open('/mnt/data/plain.txt', 'w').write('plain')\nprint('wrote')")
    run, step, _ = run_code(sdk, sandboxed.st, tutor.id, code)
    assert run.status == "completed", (run.status, run.last_error, sandboxed.log())
    logs = logs_of(step)
    assert "wrote" in logs and "not valid UTF-8" in logs and "\\xff\\xfe.txt" in logs, logs
    made = {f.filename: f.id for f in sdk.files.list(purpose="assistants_output")}
    assert sdk.files.content(made["\ufffd\ufffd.txt"]).read() == b"odd name"
    assert sdk.files.content(made["plain.txt"]).read() == b"plain"
    assert _rowless(sdk, _blobs(sandboxed) - before) == []


def test_a_result_that_cannot_be_recorded_fails_the_run_and_leaves_no_blob(
        sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    """The step is made to fail at commit (a database trigger refuses to complete it): each
    try stores the exported files first, then rolls back."""
    db = sandboxed.st.workdir / "orchestrator.db"
    before = _blobs(sandboxed)
    thread = sdk.beta.threads.create()
    with sqlite3.connect(db) as conn:
        conn.execute(
            f"CREATE TRIGGER test_refuse_{thread.id.replace('-', '_')} BEFORE UPDATE ON "
            f"run_steps WHEN NEW.thread_id = '{thread.id}' AND NEW.status = 'completed' "
            "BEGIN SELECT RAISE(ABORT, 'injected: this step cannot be recorded'); END")
    try:
        marker = script_code(sandboxed.st, "open('/mnt/data/big.bin', 'wb').write(b'x' * 2**20)")
        sdk.beta.threads.messages.create(thread_id=thread.id, role="user", content=marker)
        run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=tutor.id)
        deadline = time.monotonic() + 120
        while run.status in ("queued", "in_progress"):
            assert time.monotonic() < deadline, ("the run loops", _blobs(sandboxed) - before)
            time.sleep(0.5)
            run = sdk.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
    finally:
        with sqlite3.connect(db) as conn:
            conn.execute(f"DROP TRIGGER IF EXISTS test_refuse_{thread.id.replace('-', '_')}")
    assert run.status == "failed" and run.last_error is not None
    assert run.last_error.code == "server_error"
    assert "could not be recorded" in run.last_error.message, run.last_error.message
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    assert [s.status for s in steps] == ["failed"]
    assert _blobs(sandboxed) - before == set()  # every try's exported file was removed again
    assert sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data == []


V1_RUN = """
import json, os, time
from openai import OpenAI
c = OpenAI(base_url=os.environ["BASE_URL"], api_key=os.environ["API_KEY"], max_retries=0)
a = c.beta.assistants.create(model="scripted-model", tools=[{"type": "code_interpreter"}],
                             file_ids=[os.environ["ASSISTANT_FILE"]])
t = c.beta.threads.create()
c.beta.threads.messages.create(thread_id=t.id, role="user", content=os.environ["MARKER"],
                               file_ids=[os.environ["MESSAGE_FILE"]])
r = c.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
deadline = time.monotonic() + 90
while r.status in ("queued", "in_progress") and time.monotonic() < deadline:
    time.sleep(0.2)
    r = c.beta.threads.runs.retrieve(thread_id=t.id, run_id=r.id)
steps = c.beta.threads.runs.steps.list(thread_id=t.id, run_id=r.id).data
logs = [o.logs for s in steps if s.type == "tool_calls" for call in s.step_details.tool_calls
        for o in call.code_interpreter.outputs if o.type == "logs"]
print(json.dumps({"status": r.status, "logs": "\\n".join(logs)}))
"""


def test_v1_files_are_also_under_their_id(sdk: openai.OpenAI, sandboxed: SandboxStack) -> None:
    """openai 1.20 (the v1 wire): assistant and message `file_ids` are at /mnt/data/<file id>,
    linked to the same bytes as /mnt/data/<filename> (no second copy against the size cap)."""
    python = ensure_sdk1_venv()
    table = sdk.files.create(file=("scores.csv", b"name,score\nada,7\n"), purpose="assistants")
    note = sdk.files.create(file=("note.txt", b"attached words"), purpose="assistants")
    code = (f"import os\nprint(open('/mnt/data/{table.id}').read().splitlines()[1])\n"
            f"print(open('/mnt/data/{note.id}').read())\n"
            f"same = [os.stat('/mnt/data/' + a).st_ino == os.stat('/mnt/data/' + b).st_ino\n"
            f"        for a, b in (('{table.id}', 'scores.csv'), ('{note.id}', 'note.txt'))]\n"
            "print('same inode', same)")
    marker = script_code(sandboxed.st, code)
    api = sandboxed.st.api
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTHON"))}
    env.update(BASE_URL=api.base_url, API_KEY=api.keys[0], MARKER=marker,
               ASSISTANT_FILE=table.id, MESSAGE_FILE=note.id)
    proc = subprocess.run([str(python), "-c", V1_RUN], env=env, capture_output=True, text=True,
                          timeout=150)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["status"] == "completed", (out, sandboxed.log())
    assert "ada,7" in out["logs"] and "attached words" in out["logs"], out["logs"]
    assert "same inode [True, True]" in out["logs"], out["logs"]
