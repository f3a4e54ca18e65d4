"""Read a questions file (plain text, CSV or JSONL) into batch input lines."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

THREADS_RUNS = "/v1/threads/runs"  # each question starts a thread and its run
RESPONSES = "/v1/responses"  # each question is a response
ENDPOINTS = (THREADS_RUNS, RESPONSES)


class QuestionsError(ValueError):
    """The questions file cannot be read; the message names the line."""


@dataclass
class Question:
    """One question and the batch line that asks it."""

    custom_id: str
    question: str
    line: dict[str, Any]


@dataclass(frozen=True)
class Target:
    """Who answers: an assistant (a thread and run a question) or a model (a response)."""

    endpoint: str = THREADS_RUNS
    assistant: str = ""
    model: str = ""

    def line(self, custom_id: str, question: str) -> dict[str, Any]:
        """The batch line asking one question."""
        body: dict[str, Any] = {"model": self.model, "input": question} if (
            self.endpoint == RESPONSES) else {
            "assistant_id": self.assistant,
            "thread": {"messages": [{"role": "user", "content": question}]}}
        return {"custom_id": custom_id, "method": "POST", "url": self.endpoint, "body": body}


def _asked(line: dict[str, Any]) -> str:
    """The first user message of a full batch line (what the answers file shows)."""
    body = line.get("body") or {}
    if isinstance(body.get("input"), str):
        return str(body["input"])
    for msg in (body.get("thread") or {}).get("messages") or body.get(
            "additional_messages") or body.get("input") or []:
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def _jsonl(path: Path, target: Target) -> list[Question]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError as exc:
                raise QuestionsError(f"{path}, line {number}: not valid JSON ({exc})") from None
            if not isinstance(item, dict):
                raise QuestionsError(f"{path}, line {number}: expected a JSON object")
            if "body" in item:  # a full batch line, sent as it is
                out.append(Question(str(item.get("custom_id", f"line-{number}")), _asked(item),
                                    item))
                continue
            if not isinstance(item.get("question"), str):
                raise QuestionsError(f"{path}, line {number}: expected a 'question' string")
            cid = str(item.get("custom_id") or f"line-{number}")
            out.append(Question(cid, item["question"], target.line(cid, item["question"])))
    return out


def _csv(path: Path, target: Target) -> list[Question]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if "question" not in (reader.fieldnames or []):
            raise QuestionsError(f"{path}: a CSV file needs a 'question' column")
        out = []
        for number, row in enumerate(reader, 2):
            text = (row.get("question") or "").strip()
            if text:
                cid = (row.get("id") or "").strip() or f"row-{number}"
                out.append(Question(cid, text, target.line(cid, text)))
        return out


def _text(path: Path, target: Target) -> list[Question]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, 1):
            if raw.strip():
                cid = f"line-{number}"
                out.append(Question(cid, raw.strip(), target.line(cid, raw.strip())))
    return out


def read_questions(path: Path, target: Target) -> list[Question]:
    """Questions by file kind: .jsonl / .json lines, .csv (a `question` column), else text."""
    suffix = path.suffix.lower()
    reader = _jsonl if suffix in (".jsonl", ".json", ".ndjson") else (
        _csv if suffix == ".csv" else _text)
    questions = reader(path, target)
    if not questions:
        raise QuestionsError(f"{path}: no questions found")
    seen: set[str] = set()
    for q in questions:
        if q.custom_id in seen:
            raise QuestionsError(f"{path}: duplicate id '{q.custom_id}'")
        seen.add(q.custom_id)
    return questions
