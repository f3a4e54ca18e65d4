"""A local OpenAI-compatible /v1/embeddings server over WordLlama (weights ship in its wheel).

Run: python -m bench.embed_server --port N. Used by bench_retrieval --hybrid as
ORCH_EMBEDDING_BASE_URL, so the benchmark goes through the server's real embeddings client.
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()
MODEL: Any = None


def load() -> Any:
    """WordLlama l2_supercat (256 dims) from the files inside the package, never downloading."""
    import wordllama
    from wordllama import WordLlama

    pkg = pathlib.Path(wordllama.__file__).parent
    cache = pathlib.Path(tempfile.mkdtemp(prefix="wordllama-"))
    (cache / "tokenizers").mkdir()
    for f in (pkg / "tokenizers").iterdir():  # the wheel keeps them where load() does not look
        (cache / "tokenizers" / f.name).symlink_to(f)
    return WordLlama.load(cache_dir=cache, disable_download=True)


@app.post("/v1/embeddings")
async def embeddings(request: Request) -> dict[str, Any]:
    """OpenAI's embeddings response shape (float encoding)."""
    body = await request.json()
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    vectors = MODEL.embed(texts)
    return {"object": "list", "model": body.get("model", "wordllama"),
            "data": [{"object": "embedding", "index": i, "embedding": v.tolist()}
                     for i, v in enumerate(vectors)],
            "usage": {"prompt_tokens": 0, "total_tokens": 0}}


def main() -> None:
    """Serve on loopback."""
    global MODEL
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    MODEL = load()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
