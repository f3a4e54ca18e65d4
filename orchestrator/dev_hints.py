"""What `orchestrator dev` tells a newcomer at start: where its probes are, and a missing model."""

from __future__ import annotations

import httpx

from orchestrator.config import shown_url

PROBE_TIMEOUT = 3.0  # seconds: a model server on loopback or the LAN answers well within this


def probes_line(host: str, port: int) -> str:
    """The liveness and readiness URLs (/health says ok even while Redis is down)."""
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    return (f"liveness: {base}/health (the API process is up); readiness: {base}/ready"
            " (the database and Redis answer; 503 naming what does not)")


def model_unreachable(base_url: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """One line when nothing answers HTTP at GET {base_url}/models, else None.

    Any HTTP answer (401, 404 included) counts as reachable: only the URL is checked here.
    """
    try:
        httpx.get(base_url.rstrip("/") + "/models", timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return (f"no model answers at {shown_url(base_url)} ({type(exc).__name__}): runs will"
                " fail until one does; start one there (Ollama: ollama serve) or point"
                " ORCH_MODEL_BASE_URL at one: ORCH_MODEL_BASE_URL=http://HOST:PORT/v1 make run")
    return None
