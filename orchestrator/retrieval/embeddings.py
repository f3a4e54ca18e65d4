"""Dense vectors from an OpenAI-compatible embeddings endpoint (ORCH_EMBEDDING_MODEL)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from orchestrator.config import get_settings

if TYPE_CHECKING:  # imported where used: openai and numpy cost about 1 s of CPU at every start
    import numpy as np  # of a process that never embeds (the API, beat, most workers)
    import openai


class EmbeddingError(Exception):
    """The embeddings endpoint failed or answered something unusable."""


def enabled() -> bool:
    """Whether an embeddings model is configured (hybrid search)."""
    return bool(get_settings().embedding_model)


@lru_cache(maxsize=1)
def _client() -> openai.OpenAI:
    import openai  # deferred: openai (~0.5 s of CPU) only in processes that embed

    s = get_settings()
    return openai.OpenAI(base_url=s.embedding_base_url or s.model_base_url,
                         api_key=s.embedding_api_key or s.model_api_key,
                         timeout=s.model_timeout, max_retries=3)


def embed(texts: Sequence[str]) -> list[bytes]:
    """Unit-length float32 vectors, as bytes, one per text."""
    # deferred: numpy and openai (~1 s of CPU) only in processes that embed
    import numpy as np
    import openai  # deferred: as above

    s = get_settings()
    out: list[bytes] = []
    for start in range(0, len(texts), s.embedding_batch):
        batch = list(texts[start:start + s.embedding_batch])
        try:
            resp = _client().embeddings.create(model=s.embedding_model, input=batch,
                                               encoding_format="float")
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"the embeddings endpoint failed: {exc}") from None
        rows = sorted(resp.data, key=lambda d: d.index)
        if len(rows) != len(batch):
            raise EmbeddingError("the embeddings endpoint returned a wrong number of vectors")
        for row in rows:
            vec = np.asarray(row.embedding, dtype=np.float32)
            norm = float(np.linalg.norm(vec))
            out.append((vec / norm if norm else vec).tobytes())
    return out


def similarities(query: bytes, blobs: Sequence[bytes]) -> np.ndarray:
    """Cosine similarity of the query to each stored vector (mismatched sizes score -1)."""
    import numpy as np  # deferred: numpy (~0.4 s of CPU) only in processes that search vectors

    q = np.frombuffer(query, dtype=np.float32)
    sims = np.full(len(blobs), -1.0, dtype=np.float32)
    same = [i for i, b in enumerate(blobs) if len(b) == len(query)]
    if same:
        mat = np.frombuffer(b"".join(blobs[i] for i in same), dtype=np.float32).reshape(
            len(same), q.size)
        sims[same] = mat @ q
    return sims
