"""The Docker backend on its own (real engine): idle TTL, lifetime, pool, labels, reaper,
what cells leave running, the session cap, an engine outage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest

from sandbox.containers import LABEL, SandboxConfig
from sandbox.docker_backend import DockerBackend
from sandbox.protocol import ExecutionRequest
from tests.sandbox.docker_proxy import DockerProxy


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


@pytest.fixture()
def make_backend(sandbox_image: str, tmp_path: Path) -> Iterator[Callable[..., DockerBackend]]:
    """Started backends with the given settings (a pool of one, short cells), closed after."""
    made: list[DockerBackend] = []

    def make(client: docker.DockerClient | None = None, reap_every: float = 3600,
             **settings: Any) -> DockerBackend:
        cfg = {"image": sandbox_image, "state_dir": tmp_path / f"b{len(made)}",
               "pool_size": 1, "timeout": 5, **settings}
        b = DockerBackend(SandboxConfig(**cfg), client=client)
        made.append(b)
        b.start(reap_every=reap_every)
        _wait_pool(b)
        return b

    yield make
    for b in made:
        b.close()
        assert _mine(b) == []


def _processes(b: DockerBackend, key: str) -> list[str]:
    """The commands running in a session's container (zombies aside), seen from the engine."""
    name = b.sessions[key].container.name
    top = docker.from_env().api.top(name, ps_args="-o pid,stat,args")
    return [row[2] for row in top["Processes"] if not row[1].startswith("Z")]


def test_processes_a_cell_leaves_running_are_stopped(
        make_backend: Callable[..., DockerBackend]) -> None:
    b = make_backend()
    code = ("import os, subprocess\n"
            "busy = subprocess.Popen(['python3', '-c', 'while True: pass'])\n"
            "if os.fork() == 0:  # a daemon: double fork, new session, spins for ever\n"
            "    if os.fork() == 0:\n        os.setsid()\n        while True: pass\n"
            "    os._exit(0)\n"
            "os.wait()\nkept = 41\nprint('started')")
    result = b.execute(ExecutionRequest("t1", code, "ten"))
    assert result.status == "ok" and "started" in result.logs, result.logs
    running = _processes(b, "ten:t1")
    assert len(running) == 2, running  # the container's init and the kernel, nothing else
    assert "init.py" in running[0] and "ipykernel_launcher" in running[1]
    assert "2 processes the code left running were stopped" in result.logs
    again = b.execute(ExecutionRequest("t1", "print(kept + 1)", "ten"))
    assert "42" in again.logs and "stopped" not in again.logs  # the kernel kept its state
    # A cell that times out with a busy child: the child goes too, the variables stay.
    slow = b.execute(ExecutionRequest(
        "t1", "import subprocess, time\n"
              "subprocess.Popen(['python3', '-c', 'while True: pass'])\ntime.sleep(60)", "ten"))
    assert slow.status == "timeout" and "1 process the code left running was stopped" in (
        slow.logs), slow.logs
    assert len(_processes(b, "ten:t1")) == 2
    assert "42" in b.execute(ExecutionRequest("t1", "print(kept + 1)", "ten")).logs


def test_session_cap_closes_the_least_recently_used_idle_session(
        make_backend: Callable[..., DockerBackend]) -> None:
    b = make_backend(max_sessions=2)
    for t in ("a", "b"):
        assert b.execute(ExecutionRequest(t, f"name = {t!r}", "ten")).status == "ok"
    first_b = b.sessions["ten:b"].container.name
    assert "'a'" in b.execute(ExecutionRequest("a", "name", "ten")).logs  # b is now the LRU
    b.execute(ExecutionRequest("c", "name = 'c'", "ten"))
    assert set(b.sessions) == {"ten:a", "ten:c"}
    deadline = time.monotonic() + 30
    while first_b in _mine(b):  # closed in the background
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert "'a'" in b.execute(ExecutionRequest("a", "name", "ten")).logs  # c is now the LRU
    fresh = b.execute(ExecutionRequest("b", "print(name)", "ten"))
    assert "NameError" in fresh.logs, fresh.logs
    assert "new Python session" in fresh.logs and "at most 2" in fresh.logs, fresh.logs
    assert set(b.sessions) == {"ten:a", "ten:b"}
    again = b.execute(ExecutionRequest("b", "name = 'b2'\nprint(name)", "ten"))
    assert "new Python session" not in again.logs  # said once


def test_reaper_outlives_an_engine_outage_and_removes_exited_sandboxes(
        make_backend: Callable[..., DockerBackend], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    proxy = DockerProxy(tmp_path / "engine.sock")
    proxy.start()
    try:
        b = make_backend(client=docker.DockerClient(base_url=proxy.url, timeout=10),
                         reap_every=0.5)
        assert b.execute(ExecutionRequest("t1", "v = 1", "ten")).status == "ok"
        session = b.sessions["ten:t1"].container.name
        caplog.set_level(logging.WARNING, logger="sandbox.docker_backend")
        proxy.stop()  # the engine is unreachable for the backend
        time.sleep(3)  # several reaper rounds fail meanwhile
        engine = docker.from_env()
        engine.containers.get(session).kill()  # an engine restart stops every container
        proxy.start()
        deadline = time.monotonic() + 30

        def reaper() -> list[str]:
            return [r.getMessage() for r in caplog.records if "reaper" in r.getMessage()]

        while session in _mine(b) or not any("answers again" in m for m in reaper()):
            assert time.monotonic() < deadline, ("the reaper did not resume", reaper())
            time.sleep(0.2)
        said = reaper()
        assert len([m for m in said if "does not answer" in m]) == 1, said  # once per outage
        assert len([m for m in said if "answers again" in m]) == 1, said
        fresh = b.execute(ExecutionRequest("t1", "print(v)", "ten"))
        assert "NameError" in fresh.logs and "had stopped" in fresh.logs, fresh.logs
    finally:
        proxy.start()  # so the backend can close its sandboxes
