"""A scripted OpenAI-compatible chat-completions server: the tests' only stand-in (the model).

Run: python -m tests.support.model_server --port N [--host H] [--delay-ms D]
Control: POST /_script {"rules": [{"match": "text", "times": n|null, "reply": {...}}]} appends
rules (one with "for_seconds": s applies for that long only, e.g. a 429 storm); a reply is
{"content": str} | {"tool_calls": [{"name", "arguments"}]} | {"status": 429|500,
"retry_after": s} | {"hang": s} | {"quote_tool": keyword} (answer with the sentence of the
last tool message that holds keyword, followed by its source marker), plus optional
"delay_ms", "finish_reason", "usage", "arguments_chunk" (stream tool arguments in fragments
of that many characters instead of two halves). A rule with "on": "user" | "tool" only
answers before / right after a tool result; "{tool}" in a reply's content is replaced by that
last tool result. Without a matching rule it answers "Echo: <last user text>" (or "Tool
said: …" after tool outputs). POST /v1/embeddings answers with hashed character-trigram
vectors (a stand-in embedding model). GET /_requests lists every request body received, the
most calls ever in flight at once and the 429s sent; POST /_reset clears rules and requests.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import time
import zlib
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

app = FastAPI()
STATE: dict[str, Any] = {"rules": [], "requests": [], "delay_ms": 0, "calls": 0,
                         "in_flight": 0, "max_in_flight": 0, "limited": 0}
_ids = itertools.count(1)


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def _pick(body: dict[str, Any]) -> dict[str, Any]:
    messages = body.get("messages", [])
    haystack = "\n".join(_text_of(m) for m in messages)
    after_tool = bool(messages) and messages[-1].get("role") == "tool"
    for rule in STATE["rules"]:
        if rule.get("until") is not None and time.monotonic() > rule["until"]:
            continue
        on = rule.get("on")  # "user": not right after a tool result; "tool": only then
        if on and (on == "tool") != after_tool:
            continue
        if rule["match"] in haystack and rule.get("times") != 0:
            if rule.get("times") is not None:
                rule["times"] -= 1
            reply = dict(rule["reply"])
            if "{tool}" in str(reply.get("content")):
                reply["content"] = reply["content"].replace("{tool}", _text_of(messages[-1]))
            return reply
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        outputs = [_text_of(m) for m in messages if m.get("role") == "tool"]
        return {"content": "Tool said: " + " | ".join(outputs)}
    users = [m for m in messages if m.get("role") == "user"]
    return {"content": "Echo: " + (_text_of(users[-1]) if users else "")}


def _quote_tool(messages: list[dict[str, Any]], keyword: str) -> str:
    """Answer from the last tool message: the sentence holding `keyword`, then the marker of
    the source it came from (file_search results arrive as "【n:i†name】 ..." blocks)."""
    tools = [_text_of(m) for m in messages if m.get("role") == "tool"]
    blocks = re.split(r"\n(?=【)", tools[-1]) if tools else []
    for block in blocks:
        marker = re.match(r"【\d+:\d+†[^】]*】", block)
        if marker and keyword.lower() in block.lower():
            sentences = re.split(r"(?<=[.!?])\s+", block[marker.end():].split("\n", 1)[-1])
            quote = next(s for s in sentences if keyword.lower() in s.lower())
            return f"{quote.strip()} {marker.group(0)}"
    return f"The files say nothing about {keyword}."


def _usage(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, int]:
    if "usage" in reply:
        return dict(reply["usage"])
    prompt = sum(len(_text_of(m)) for m in body.get("messages", [])) // 4 + 1
    out = len(reply.get("content") or "") // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}


def _tool_calls(reply: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": c.get("id") or f"call_{next(_ids):06d}", "type": "function",
             "function": {"name": c["name"], "arguments": c.get("arguments", "{}")}}
            for c in reply.get("tool_calls", [])]


def _finish(reply: dict[str, Any]) -> str:
    if reply.get("finish_reason"):
        return str(reply["finish_reason"])
    return "tool_calls" if reply.get("tool_calls") else "stop"


@app.post("/v1/chat/completions", response_model=None)
async def completions(request: Request) -> JSONResponse | StreamingResponse:
    """Answer like an OpenAI-compatible server would, as scripted."""
    body = await request.json()
    STATE["requests"].append(body)
    STATE["calls"] += 1
    STATE["in_flight"] += 1
    STATE["max_in_flight"] = max(STATE["max_in_flight"], STATE["in_flight"])
    try:
        return await _answer(body)
    finally:
        STATE["in_flight"] -= 1


async def _answer(body: dict[str, Any]) -> JSONResponse | StreamingResponse:
    reply = _pick(body)
    if "quote_tool" in reply:
        reply["content"] = _quote_tool(body.get("messages", []), str(reply["quote_tool"]))
    delay = reply.get("delay_ms", STATE["delay_ms"]) / 1000
    if reply.get("hang"):
        await asyncio.sleep(float(reply["hang"]))
    if delay:
        await asyncio.sleep(delay)
    if reply.get("status"):
        STATE["limited"] += reply["status"] == 429
        headers = {"retry-after": str(reply["retry_after"])} if "retry_after" in reply else {}
        return JSONResponse(status_code=int(reply["status"]), headers=headers, content={
            "error": {"message": f"scripted {reply['status']}", "type": "scripted",
                      "param": None, "code": None}})
    calls = _tool_calls(reply)
    cid = f"chatcmpl-{next(_ids)}"
    if body.get("stream"):
        return StreamingResponse(_stream(cid, body, reply, calls), media_type="text/event-stream")
    return JSONResponse({
        "id": cid, "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [{"index": 0, "finish_reason": _finish(reply), "message": {
            "role": "assistant", "content": reply.get("content"),
            **({"tool_calls": calls} if calls else {})}}],
        "usage": _usage(body, reply),
    })


async def _stream(cid: str, body: dict[str, Any], reply: dict[str, Any],
                  calls: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    def chunk(delta: dict[str, Any], finish: str | None = None,
              usage: dict[str, int] | None = None) -> str:
        data = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [] if usage else [{"index": 0, "delta": delta,
                                              "finish_reason": finish}]}
        if usage:
            data["usage"] = usage
        return f"data: {json.dumps(data)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    gap = reply.get("chunk_delay_ms", 0) / 1000
    content = reply.get("content") or ""
    words = content.split(" ")
    for i, word in enumerate(words):
        if content:
            yield chunk({"content": word if i == 0 else " " + word})
            if gap:
                await asyncio.sleep(gap)
    for index, call in enumerate(calls):
        yield chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                     "function": {"name": call["function"]["name"],
                                                  "arguments": ""}}]})
        args = call["function"]["arguments"]
        size = reply.get("arguments_chunk")  # fragments of that many characters; else halves
        parts = ([args[i:i + size] for i in range(0, len(args), size)] if size
                 else [args[: len(args) // 2], args[len(args) // 2:]])
        for part in parts:
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
    yield chunk({}, _finish(reply))
    if (body.get("stream_options") or {}).get("include_usage"):
        yield chunk({}, usage=_usage(body, reply))
    yield "data: [DONE]\n\n"


EMBED_DIMS = 256


def _embedding(text: str) -> list[float]:
    """A deterministic stand-in embedding: hashed character trigrams of each word, unit length
    (so it matches misspellings and word forms that share most trigrams, unlike word search)."""
    vec = [0.0] * EMBED_DIMS
    for word in re.findall(r"\w+", text.lower()):
        padded = f"#{word}#"
        for i in range(len(padded) - 2):
            vec[zlib.crc32(padded[i:i + 3].encode()) % EMBED_DIMS] += 1.0
    norm = sum(v * v for v in vec) ** 0.5 or 1.0
    return [v / norm for v in vec]


@app.post("/v1/embeddings")
async def embeddings(request: Request) -> dict[str, Any]:
    """OpenAI's embeddings endpoint (float encoding), with the stand-in embedding above."""
    body = await request.json()
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    STATE["embedding_inputs"] = STATE.get("embedding_inputs", 0) + len(texts)
    tokens = sum(len(t.split()) for t in texts)
    return {"object": "list", "model": body.get("model", "scripted-embed"),
            "data": [{"object": "embedding", "index": i, "embedding": _embedding(t)}
                     for i, t in enumerate(texts)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


@app.post("/_script")
async def script(request: Request) -> dict[str, int]:
    """Append rules."""
    data = await request.json()
    for rule in data.get("rules", []):
        if "for_seconds" in rule:  # a rule that holds for a while (e.g. a 429 storm)
            rule["until"] = time.monotonic() + float(rule.pop("for_seconds"))
        STATE["rules"].append(rule)
    if "delay_ms" in data:
        STATE["delay_ms"] = int(data["delay_ms"])
    return {"rules": len(STATE["rules"])}


@app.get("/_requests")
async def requests_seen() -> dict[str, Any]:
    """Every request body received so far."""
    return {**{key: STATE[key] for key in ("calls", "requests", "max_in_flight", "limited")},
            "embedding_inputs": STATE.get("embedding_inputs", 0)}


@app.post("/_reset")
async def reset() -> dict[str, bool]:
    """Forget rules and requests."""
    STATE.update(rules=[], requests=[], calls=0, max_in_flight=0, limited=0)
    return {"ok": True}


def main() -> None:
    """Serve on loopback (or --host, e.g. a test network's address)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args()
    STATE["delay_ms"] = args.delay_ms
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
