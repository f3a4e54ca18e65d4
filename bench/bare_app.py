"""The baseline: a bare FastAPI JSON app, served by uvicorn exactly as `orchestrator api` is."""

from __future__ import annotations

import argparse

from fastapi import FastAPI
from pydantic import BaseModel


class Note(BaseModel):
    """A small JSON body, about the size of a short message create."""

    role: str
    content: str


app = FastAPI(title="bare baseline")
_ITEM = {"id": "item_1", "object": "item", "created_at": 1700000000, "value": "hello"}


# Plain `def` handlers, like ours: FastAPI runs both through its thread pool.
@app.get("/health")
def health() -> dict[str, str]:
    """Liveness, so the harness can wait for this server like it waits for ours."""
    return {"status": "ok"}


@app.get("/bare/items")
def get_item() -> dict[str, object]:
    """A small constant dict."""
    return _ITEM


@app.post("/bare/items")
def echo(note: Note) -> Note:
    """Echo a small validated JSON body."""
    return note


def main() -> None:
    """Mirror orchestrator.cli.cmd_api: uvicorn.run, one worker, no access log."""
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    uvicorn.run("bench.bare_app:app", host=args.host, port=args.port, workers=1,
                log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()
