"""`orchestrator batch` against a live server: progress output, answers file, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from orchestrator.batches.questions import Target, read_questions
from tests.batches.conftest import db_scalar, read_answers, run_cli
from tests.support.stack import Stack


def _until_in_progress(proc: subprocess.Popen[str]) -> list[str]:
    """The CLI's output up to its first progress line of a running batch."""
    seen: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("progress") and "in_progress" in line:
            break
    return seen


def test_cli_interrupted_then_resumed(sdk: openai.OpenAI, assistant: Any, pipeline: Stack,
                                      tmp_path: Path) -> None:
    pipeline.model.script({"match": "cli question", "reply": {"delay_ms": 700,
                                                               "content": "answered"}})
    questions = tmp_path / "questions.txt"
    questions.write_text("".join(f"cli question {i}\n\n" if i % 10 == 0 else
                                 f"cli question {i}\n" for i in range(90)))
    output = tmp_path / "answers.jsonl"
    batches_before = int(db_scalar(pipeline, "SELECT count(*) FROM batches"))
    first = run_cli(pipeline, str(questions), "--assistant", assistant.id, "-o", str(output))
    seen = _until_in_progress(first)
    first.send_signal(signal.SIGINT)
    rest, _ = first.communicate(timeout=30)
    assert first.returncode == 130, "".join(seen) + rest
    assert "Run the same command again to reattach" in rest
    created = [x for x in seen if x.startswith("created batch ")]
    assert created, seen
    batch_id = created[0].split()[2]
    state = json.loads((tmp_path / "answers.jsonl.batch.json").read_text())
    assert state["batch_id"] == batch_id
    assert not output.exists()

    second = run_cli(pipeline, str(questions), "--assistant", assistant.id, "-o", str(output))
    out, _ = second.communicate(timeout=180)
    assert second.returncode == 0, out
    assert f"reattaching to batch {batch_id}" in out
    progress = [x for x in out.splitlines() if x.startswith("progress ")]
    assert progress and all("/90 " in x and "/s ETA" in x for x in progress), progress
    assert progress[-1].startswith("progress 90/90 (0 failed) completed")
    assert f"batch {batch_id} completed: 90 answered, 0 not" in out
    assert int(db_scalar(pipeline, "SELECT count(*) FROM batches")) == batches_before + 1
    rows = read_answers(output)
    assert [r["question"] for r in rows] == [f"cli question {i}" for i in range(90)]
    assert all(r["answer"] == "answered" and r["status"] == "completed" for r in rows)
    # Line numbers are the custom ids of plain text (blank lines skipped, not renumbered).
    assert rows[0]["custom_id"] == "line-1" and rows[1]["custom_id"] == "line-3"


@pytest.mark.parametrize(("sent", "inherited"), [
    (signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.SIG_IGN)],
    ids=["sigterm", "sigint-inherited-ignored"])
def test_cli_stops_on_sigterm_and_on_sigint_whatever_it_inherited(
        assistant: Any, pipeline: Stack, tmp_path: Path, sent: signal.Signals,
        inherited: Any) -> None:
    """`timeout`, systemd and Kubernetes stop with SIGTERM; a backgrounded shell (nohup, CI)
    starts the command with SIGINT ignored: either way it stops like Ctrl-C, with the hint."""
    pipeline.model.script({"match": "stop question", "reply": {"delay_ms": 1500,
                                                                "content": "answered"}})
    questions = tmp_path / "questions.txt"
    questions.write_text("".join(f"stop question {i}\n" for i in range(40)))
    output = tmp_path / "answers.jsonl"
    proc = run_cli(pipeline, str(questions), "--assistant", assistant.id, "-o", str(output),
                sigint=inherited)
    seen = _until_in_progress(proc)
    proc.send_signal(sent)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "keeps running on the server. Run the same command again to reattach" in rest
    assert "Traceback" not in rest
    assert not output.exists()


def test_cli_csv_with_ids_and_a_failing_question(assistant: Any, pipeline: Stack,
                                                 tmp_path: Path) -> None:
    pipeline.model.script({"match": "csv boom", "reply": {"status": 400}})
    questions = tmp_path / "q.csv"
    questions.write_text('id,question\nfirst,"csv hello, world"\nsecond,csv boom\n'
                         ',csv third\n')
    output = tmp_path / "out.jsonl"
    started = time.monotonic()
    proc = run_cli(pipeline, str(questions), "--assistant", assistant.id, "-o", str(output))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out  # the batch completed, but not every question was answered
    assert time.monotonic() - started < 60
    rows = read_answers(output)
    assert [r["custom_id"] for r in rows] == ["first", "second", "row-4"]
    assert rows[0] == {"custom_id": "first", "question": "csv hello, world",
                       "answer": "Echo: csv hello, world", "status": "completed"}
    assert rows[1]["status"] == "failed" and rows[1]["answer"] == "" and rows[1]["error"]
    assert rows[2]["answer"] == "Echo: csv third"
    assert "2 answered, 1 not" in out


def test_cli_refuses_an_unknown_assistant(pipeline: Stack, tmp_path: Path) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text("hello\n")
    proc = run_cli(pipeline, str(questions), "--assistant", "asst_missing")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "line 1: No assistant found with id 'asst_missing'" in out


def test_questions_jsonl_accepts_questions_and_full_batch_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    full = {"custom_id": "full", "method": "POST", "url": "/v1/threads/runs",
            "body": {"assistant_id": "asst_other", "thread": {"messages": [
                {"role": "user", "content": "as given"}]}}}
    path.write_text(json.dumps({"custom_id": "a", "question": "short"}) + "\n"
                    + json.dumps(full) + "\n" + json.dumps({"question": "no id"}) + "\n")
    qs = read_questions(path, Target(assistant="asst_x"))
    assert [(q.custom_id, q.question) for q in qs] == [
        ("a", "short"), ("full", "as given"), ("line-3", "no id")]
    assert qs[0].line["body"]["assistant_id"] == "asst_x"
    assert qs[1].line == full
