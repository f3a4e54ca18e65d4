"""Retrieval benchmark: recall@5, ingestion MB/s and search latency on ~10,000 chunks.

Corpus: the King James Bible (public domain), as Debian's `bible-kjv` package prints it
(`apt-get install bible-kjv`), one file per book. QA set, built from the corpus itself: for each
of N verses picked with a fixed seed (at least 12 words long), the query is K of the verse's
non-stopword words drawn at random and shuffled; the right answer is any chunk that contains the
whole verse. recall@5 = share of queries with such a chunk among the top 5 results.

It runs the real domain code in-process against a freshly migrated database (SQLite, or a
throw-away PostgreSQL database with --backend postgres): files are stored in the blob store and
indexed by `orchestrator.retrieval.ingest.ingest` (the function the `retrieval.ingest` task calls),
searches go through `orchestrator.retrieval.index.search`.

    python -m bench.bench_retrieval --backend both --queries 300 [--hybrid]

--hybrid embeds chunks and queries with WordLlama (its weights ship in the PyPI wheel), served by
bench/embed_server.py as an OpenAI-compatible endpoint, so ingestion and search run the
server's own hybrid path (ORCH_EMBEDDING_MODEL / ORCH_EMBEDDING_BASE_URL).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import percentile
from tests.support.servers import postgres_available, postgres_database

TENANT = "bench"
STORE = "vs_bench"
VERSE = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$")


def corpus() -> dict[str, list[str]]:
    """Verses by book from `bible -f` (Debian bible-kjv)."""
    if shutil.which("bible") is None:
        sys.exit("needs Debian's bible-kjv package: apt-get install -y bible-kjv")
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], capture_output=True, text=True,
                         check=True).stdout
    books: dict[str, list[str]] = {}
    for line in out.splitlines():
        m = VERSE.match(line.strip())
        if m:
            books.setdefault(m.group(1), []).append(m.group(4))
    return books


def qa_set(books: dict[str, list[str]], n: int, k: int, seed: int) -> list[tuple[str, str]]:
    """(query, verse) pairs: k distinct content words of a verse, shuffled."""
    from orchestrator.retrieval.index import STOPWORDS

    rng = random.Random(seed)
    verses = [v for vs in books.values() for v in vs if len(v.split()) >= 12]
    out = []
    for verse in rng.sample(verses, n):
        words = list(dict.fromkeys(w for w in re.findall(r"[A-Za-z]+", verse.lower())
                                   if w not in STOPWORDS and len(w) > 2))
        rng.shuffle(words)
        out.append((" ".join(words[:k]), verse))
    return out


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A migrated empty database URL."""
    if backend == "postgres":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{workdir / 'bench.db'}"


def run_backend(backend: str, books: dict[str, list[str]], args: argparse.Namespace
                ) -> dict[str, Any]:
    """Ingest the corpus into one store, then time and score the searches."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    with database(backend, workdir) as url:
        os.environ.update(ORCH_DATABASE_URL=url, ORCH_DATA_DIR=str(workdir / "data"))
        from orchestrator.config import get_settings
        from orchestrator.db import get_engine, unit_of_work
        from orchestrator.migrate import upgrade
        from orchestrator.models import VectorStoreFileRecord, VectorStoreRecord
        from orchestrator.retrieval import embeddings
        from orchestrator.retrieval.index import search
        from orchestrator.retrieval.ingest import ingest
        from orchestrator.storage import factory
        from orchestrator.storage.files import save_file

        get_settings.cache_clear()
        get_engine.cache_clear()
        factory.get_store.cache_clear()
        embeddings._client.cache_clear()
        upgrade(url)
        strategy = {"type": "static", "static": {"max_chunk_size_tokens": args.chunk_tokens,
                                                 "chunk_overlap_tokens": args.chunk_tokens // 2}}
        with unit_of_work() as s:
            s.add(VectorStoreRecord(id=STORE, tenant=TENANT, name="kjv"))
            file_ids = []
            for book, verses in books.items():
                rec = save_file(s, TENANT, f"{book}.txt", "assistants",
                                ["\n".join(verses).encode()])
                file_ids.append(rec.id)
                s.add(VectorStoreFileRecord(id=rec.id, tenant=TENANT, vector_store_id=STORE,
                                            chunking_strategy=strategy))
        total_bytes = sum(len("\n".join(v).encode()) for v in books.values())
        start = time.perf_counter()
        outcomes = [ingest(STORE, fid) for fid in file_ids]
        ingest_s = time.perf_counter() - start
        chunks = sum(int(o.split(": ")[1].split()[0]) for o in outcomes)
        results: dict[str, Any] = {"backend": backend, "files": len(file_ids), "chunks": chunks,
                                   "megabytes": round(total_bytes / 1e6, 2),
                                   "ingest_s": round(ingest_s, 2),
                                   "ingest_mb_s": round(total_bytes / 1e6 / ingest_s, 2)}
        for k in args.words:
            qa = qa_set(books, args.queries, k, args.seed)
            hits, lat = 0, []
            with unit_of_work() as s:
                for query, verse in qa:
                    t0 = time.perf_counter()
                    found = search(s, TENANT, [STORE], query, 5)
                    lat.append((time.perf_counter() - t0) * 1000)
                    hits += any(verse in h.text for h in found)
            results[f"recall@5_{k}words"] = round(hits / len(qa), 3)
            results[f"search_p50_ms_{k}words"] = round(percentile(lat, 50), 2)
            results[f"search_p95_ms_{k}words"] = round(percentile(lat, 95), 2)
            results[f"search_mean_ms_{k}words"] = round(statistics.mean(lat), 2)
        get_engine().dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    return results


@contextlib.contextmanager
def embed_server() -> Iterator[str]:
    """bench.embed_server (WordLlama) on a free port; its /v1 base URL."""
    import httpx

    from tests.support.servers import ROOT, free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.embed_server", "--port", str(port)],
                            cwd=ROOT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(url + "/embeddings", json={"input": "x"}, timeout=2).is_success:
                    break
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    """Run and print a JSON line per backend."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--words", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--chunk-tokens", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hybrid", action="store_true",
                        help="also embed with WordLlama (pip install wordllama) and fuse")
    args = parser.parse_args()
    books = corpus()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    with contextlib.ExitStack() as stack:
        if args.hybrid:
            os.environ.update(ORCH_EMBEDDING_MODEL="wordllama-l2-supercat-256",
                              ORCH_EMBEDDING_BASE_URL=stack.enter_context(embed_server()),
                              ORCH_EMBEDDING_API_KEY="none")
        for backend in backends:
            if backend == "postgres" and not postgres_available():
                print(json.dumps({"backend": backend, "skipped": "PostgreSQL not reachable"}))
                continue
            result = run_backend(backend, books, args)
            result["search"] = "hybrid" if args.hybrid else "lexical"
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
