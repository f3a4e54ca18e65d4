"""docker-compose.yml: every service that calls the model resolves .env.example's model URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
# The API embeds search queries; the run worker calls the model and ingests files (embeddings);
# the maintenance worker runs the same code on other queues.
MODEL_CALLERS = ("api", "worker", "maintenance-worker")


def _services() -> dict[str, Any]:
    # safe_load resolves the `<<: *orchestrator` merge keys as Compose does.
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])


def test_env_example_points_the_model_at_the_docker_host() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    assert "ORCH_MODEL_BASE_URL=http://host.docker.internal:11434/v1" in lines


def test_model_callers_map_host_docker_internal_to_the_host_gateway() -> None:
    services = _services()
    for name in MODEL_CALLERS:
        hosts = services[name].get("extra_hosts") or []
        assert "host.docker.internal:host-gateway" in hosts, name
    # Every service running our image (it reads ORCH_MODEL_BASE_URL from .env) has it too.
    image = "assistants-orchestrator:latest"
    ours = [n for n, svc in services.items() if svc.get("image") == image]
    assert set(MODEL_CALLERS) <= set(ours)
    assert all("host.docker.internal:host-gateway" in services[n].get("extra_hosts", [])
               for n in ours)


def test_every_service_but_the_entry_points_can_be_scaled() -> None:
    """`docker compose up --scale worker=3` (or any other worker): no fixed container name or
    host port on a service that may run more than once; only the API and Flower publish a port."""
    services = _services()
    assert not [n for n, svc in services.items() if "container_name" in svc]
    published = {n for n, svc in services.items() if svc.get("ports")}
    assert published == {"api", "flower"}
    for name in ("worker", "maintenance-worker", "beat", "sandbox-worker"):
        assert "ports" not in services[name] and "container_name" not in services[name], name
