"""The Docker backend on its own (real engine): idle TTL, lifetime, pool, labels, reaper."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest

from sandbox.containers import LABEL, SandboxConfig
from sandbox.docker_backend import DockerBackend
from sandbox.protocol import ExecutionRequest


@pytest.fixture()
def backend(sandbox_image: str, tmp_path: Path) -> Iterator[DockerBackend]:
    """A backend with short lifetimes and a pool of one."""
    b = DockerBackend(SandboxConfig(image=sandbox_image, state_dir=tmp_path, pool_size=1,
                                    idle_ttl=1.0, max_lifetime=6.0, timeout=5))
    b.start(reap_every=3600)  # the test calls reap() itself
    try:
        yield b
    finally:
        b.close()
    assert _mine(b) == []  # close() leaves nothing behind


def _mine(b: DockerBackend) -> list[str]:
    listed = docker.from_env().api.containers(
        all=True, filters={"label": f"{LABEL}.instance={b.instance}"})
    return [c["Names"][0].lstrip("/") for c in listed]


def _wait_pool(b: DockerBackend) -> None:
    deadline = time.monotonic() + 30
    while b.pool.qsize() < b.cfg.pool_size:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_idle_session_is_destroyed_and_never_reused(backend: DockerBackend) -> None:
    _wait_pool(backend)
    assert backend.execute(ExecutionRequest("t1", "v = 5", "ten")).status == "ok"
    used = backend.sessions["ten:t1"].container.name
    assert (backend.sessions["ten:t1"].host_dir / "session").read_text() == "ten:t1"
    time.sleep(1.3)
    assert backend.reap() >= 1
    assert used not in _mine(backend)  # destroyed, not returned to the pool
    result = backend.execute(ExecutionRequest("t1", "print(v)", "ten"))
    assert "NameError" in result.logs  # a fresh session
    assert backend.sessions["ten:t1"].container.name != used


def test_pool_refills_and_sandboxes_carry_labels(backend: DockerBackend) -> None:
    _wait_pool(backend)
    backend.execute(ExecutionRequest("t2", "1", "ten"))
    _wait_pool(backend)  # taken from the pool, then topped up
    tracked = [sb.container.name for sb in [*backend.sessions.values(), *backend.pool.queue]]
    assert len(tracked) == 2 and set(tracked) <= set(_mine(backend))
    for name in tracked:
        info = docker.from_env().api.inspect_container(name)
        labels = info["Config"]["Labels"]
        created = datetime.fromisoformat(info["Created"][:19]).replace(tzinfo=UTC).timestamp()
        assert labels[LABEL] == "1"
        assert abs(int(labels[f"{LABEL}.expiry"]) - created - 6) < 3  # max_lifetime
        assert labels[f"{LABEL}.host"] and labels[f"{LABEL}.pid"]
        attrs = info["HostConfig"]
        assert attrs["NetworkMode"] == "none" and attrs["ReadonlyRootfs"] is True
        assert attrs["CapDrop"] == ["ALL"] and "no-new-privileges" in attrs["SecurityOpt"]
        assert attrs["Memory"] == attrs["MemorySwap"] == 512 * 2**20
        assert attrs["PidsLimit"] == 128 and attrs["NanoCpus"] == 10**9


def test_sandboxes_past_their_lifetime_are_reaped(backend: DockerBackend) -> None:
    _wait_pool(backend)
    backend.execute(ExecutionRequest("t3", "w = 1", "ten"))
    _wait_pool(backend)
    old = set(_mine(backend))
    time.sleep(6.5)
    backend.execute(ExecutionRequest("t3", "w", "ten"))  # in use: not idle long enough
    backend.reap()
    assert not old & set(_mine(backend))
