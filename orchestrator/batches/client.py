"""`orchestrator batch`: submit a questions file as a batch, show progress, write the answers.

Resumable: the batch id is kept in a state file next to the output (`<output>.batch.json`), so
rerunning the same command after Ctrl-C (or SIGTERM) reattaches to the batch instead of starting
again.
"""

from __future__ import annotations

import hashlib
import io
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import openai
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from orchestrator.batches.questions import Question, Target, read_questions

FINAL = ("completed", "failed", "cancelled", "expired")


@dataclass
class Options:
    """What the command was asked to do."""

    questions: Path
    target: Target
    output: Path
    base_url: str
    api_key: str
    poll: float = 1.0


def state_path(output: Path) -> Path:
    """Where the batch id of an output file is kept."""
    return output.with_name(output.name + ".batch.json")


def _payload(questions: list[Question]) -> bytes:
    return "".join(json.dumps(q.line, separators=(",", ":")) + "\n"
                   for q in questions).encode()


def _attach_or_create(client: openai.OpenAI, opts: Options, payload: bytes,
                      out: TextIO) -> str:
    digest = hashlib.sha256(payload).hexdigest()
    state = state_path(opts.output)
    if state.exists():
        saved = json.loads(state.read_text())
        if saved.get("input_sha256") == digest:
            print(f"reattaching to batch {saved['batch_id']}", file=out, flush=True)
            return str(saved["batch_id"])
        print(f"{state} belongs to another input; starting a new batch", file=out, flush=True)
    upload = client.files.create(file=(opts.questions.name + ".batch.jsonl",
                                       io.BytesIO(payload)), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id,
                                  endpoint=opts.target.endpoint,  # type: ignore[arg-type]
                                  completion_window="24h",
                                  metadata={"source": opts.questions.name[:512]})
    opts.output.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"batch_id": batch.id, "input_file_id": upload.id,
                                 "input_sha256": digest}))
    print(f"created batch {batch.id} ({len(payload)} bytes)", file=out, flush=True)
    return batch.id


def _counts(batch: Any) -> tuple[int, int, int]:
    c = batch.request_counts
    return (c.total, c.completed, c.failed) if c else (0, 0, 0)


def _wait_plain(client: openai.OpenAI, batch_id: str, opts: Options, out: TextIO) -> Any:
    """No terminal: one progress line whenever the counts move (rate and ETA included)."""
    start, first, last = time.monotonic(), None, None
    while True:
        batch = client.batches.retrieve(batch_id)
        total, ok, bad = _counts(batch)
        done = ok + bad
        if first is None:
            first = done
        if (done, batch.status) != last:
            elapsed = max(time.monotonic() - start, 1e-6)
            rate = (done - first) / elapsed
            eta = f"{(total - done) / rate:.0f}s" if rate > 0 else "?"
            print(f"progress {done}/{total} ({bad} failed) {batch.status} {rate:.1f}/s"
                  f" ETA {eta}", file=out, flush=True)
            last = (done, batch.status)
        if batch.status in FINAL:
            return batch
        time.sleep(opts.poll)


def _wait_bar(client: openai.OpenAI, batch_id: str, opts: Options, console: Console) -> Any:
    """A terminal: a rich progress bar with rate and ETA."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[failed]} failed"),
               TextColumn("{task.fields[rate]}"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(batch_id, total=None, failed=0, rate="")
        start, first = time.monotonic(), None
        while True:
            batch = client.batches.retrieve(batch_id)
            total, ok, bad = _counts(batch)
            first = ok + bad if first is None else first
            rate = (ok + bad - first) / max(time.monotonic() - start, 1e-6)
            bar.update(task, total=total, completed=ok + bad, failed=bad,
                       rate=f"{rate:.1f}/s", description=f"{batch_id} {batch.status}")
            if batch.status in FINAL:
                return batch
            time.sleep(opts.poll)


def _lines(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if not file_id:
        return []
    return [json.loads(x) for x in client.files.content(file_id).text.splitlines() if x]


def _texts(body: dict[str, Any]) -> list[str]:
    """The answer's texts: a run's assistant messages, or a Response's output messages."""
    if body.get("object") == "response":
        return [part["text"] for msg in body.get("output") or [] if msg.get("type") == "message"
                for part in msg.get("content") or [] if part.get("type") == "output_text"]
    return [part["text"]["value"] for msg in body.get("messages") or []
            for part in msg.get("content") or [] if part.get("type") == "text"]


def _answer(item: dict[str, Any]) -> tuple[str, str, str | None]:
    """(answer text, status, error message) of one output / error line."""
    body = (item.get("response") or {}).get("body") or {}
    texts = _texts(body)
    error = item.get("error")
    return "\n\n".join(texts), str(body.get("status") or "failed"), (
        error.get("message") if error else None)


def write_answers(client: openai.OpenAI, batch: Any, questions: list[Question],
                  output: Path) -> tuple[int, int]:
    """One answers line per question, in input order; (answered, not answered)."""
    found = {i["custom_id"]: i for i in _lines(client, batch.output_file_id)
             + _lines(client, batch.error_file_id)}
    ok = 0
    tmp = output.with_name(output.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for q in questions:
            item = found.get(q.custom_id)
            error: str | None
            if item is None:
                answer, status, error = "", "not_run", f"the batch ended '{batch.status}'"
            else:
                answer, status, error = _answer(item)
            ok += status == "completed"
            row: dict[str, Any] = {"custom_id": q.custom_id, "question": q.question,
                                   "answer": answer, "status": status}
            if error:
                row["error"] = error
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(output)
    return ok, len(questions) - ok


def interrupt_on_stop_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt, whatever disposition was inherited.

    A shell running the command in the background (nohup, many CI runners) leaves SIGINT
    ignored, and Python then never turns it into KeyboardInterrupt; `timeout`, systemd and
    Kubernetes stop a process with SIGTERM. Both must stop the wait the same way as Ctrl-C.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def run(opts: Options, out: TextIO = sys.stdout) -> int:
    """The whole command; exit code 0 all answered, 1 some not, 2 the batch did not complete,
    130 interrupted (Ctrl-C or SIGTERM; the batch keeps running on the server)."""
    interrupt_on_stop_signals()
    questions = read_questions(opts.questions, opts.target)
    client = openai.OpenAI(base_url=opts.base_url, api_key=opts.api_key, max_retries=5)
    batch_id = _attach_or_create(client, opts, _payload(questions), out)
    console = Console(file=out)
    try:
        batch = (_wait_bar(client, batch_id, opts, console) if console.is_terminal
                 else _wait_plain(client, batch_id, opts, out))
    except KeyboardInterrupt:
        print(f"\ninterrupted; batch {batch_id} keeps running on the server. Run the same"
              " command again to reattach.", file=out, flush=True)
        return 130
    ok, missing = write_answers(client, batch, questions, opts.output)
    print(f"batch {batch_id} {batch.status}: {ok} answered, {missing} not; answers in"
          f" {opts.output}", file=out, flush=True)
    if batch.status != "completed":
        return 2
    return 1 if missing else 0
