"""A scripted OpenAI-compatible chat-completions server: the tests' only stand-in (the model).

Run: python -m tests.support.model_server --port N [--delay-ms D]
Control: POST /_script {"rules": [{"match": "text", "times": n|null, "reply": {...}}]} appends
rules; a reply is {"content": str} | {"tool_calls": [{"name", "arguments"}]} | {"status": 429|500,
"retry_after": s} | {"hang": s}, plus optional "delay_ms", "finish_reason", "usage". A rule with
"on": "user" | "tool" only answers before / right after a tool result; "{tool}" in a reply's
content is replaced by that last tool result. Without a
matching rule it answers "Echo: <last user text>" (or "Tool said: …" after tool outputs).
GET /_requests lists every request body received; POST /_reset clears rules and requests.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

app = FastAPI()
STATE: dict[str, Any] = {"rules": [], "requests": [], "delay_ms": 0, "calls": 0}
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
    reply = _pick(body)
    delay = reply.get("delay_ms", STATE["delay_ms"]) / 1000
    if reply.get("hang"):
        await asyncio.sleep(float(reply["hang"]))
    if delay:
        await asyncio.sleep(delay)
    if reply.get("status"):
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
        for part in (args[: len(args) // 2], args[len(args) // 2:]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
    yield chunk({}, _finish(reply))
    if (body.get("stream_options") or {}).get("include_usage"):
        yield chunk({}, usage=_usage(body, reply))
    yield "data: [DONE]\n\n"


@app.post("/_script")
async def script(request: Request) -> dict[str, int]:
    """Append rules."""
    data = await request.json()
    STATE["rules"].extend(data.get("rules", []))
    if "delay_ms" in data:
        STATE["delay_ms"] = int(data["delay_ms"])
    return {"rules": len(STATE["rules"])}


@app.get("/_requests")
async def requests_seen() -> dict[str, Any]:
    """Every request body received so far."""
    return {"calls": STATE["calls"], "requests": STATE["requests"]}


@app.post("/_reset")
async def reset() -> dict[str, bool]:
    """Forget rules and requests."""
    STATE.update(rules=[], requests=[], calls=0)
    return {"ok": True}


def main() -> None:
    """Serve on loopback."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args()
    STATE["delay_ms"] = args.delay_ms
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
