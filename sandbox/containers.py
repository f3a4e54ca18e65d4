"""Hardened sandbox containers: create with every limit, label, find and remove them."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.types import Mount

from sandbox.kernel import CONTAINER_DIR

LABEL = "orchestrator.sandbox"
UID = 1000


@dataclass(frozen=True)
class SandboxConfig:
    """Host-level settings of the sandbox worker (filled from the orchestrator's Settings)."""

    image: str = "orchestrator-sandbox:0.1"
    state_dir: Path = Path("var/sandbox")
    memory_mb: int = 512
    cpus: float = 1.0
    pids: int = 128
    data_mb: int = 100
    tmp_mb: int = 64
    timeout: float = 30.0
    max_output: int = 64 * 1024
    max_export_bytes: int = 32 * 1024 * 1024
    pool_size: int = 2
    idle_ttl: float = 600.0
    max_lifetime: float = 3600.0
    start_timeout: float = 30.0


def instance_labels(instance: str) -> dict[str, str]:
    """Who owns a container: this host, this process (its pid tells the reaper if it lives)."""
    return {LABEL: "1", f"{LABEL}.host": socket.gethostname(),
            f"{LABEL}.pid": str(os.getpid()), f"{LABEL}.instance": instance}


def create(client: docker.DockerClient, cfg: SandboxConfig, instance: str,
           host_dir: Path) -> Container:
    """Start one hardened container whose kernel listens on sockets in `host_dir`."""
    name = f"sandbox-{uuid.uuid4().hex[:12]}"
    expiry = int(time.time() + cfg.max_lifetime)
    labels = {**instance_labels(instance), f"{LABEL}.expiry": str(expiry),
              f"{LABEL}.dir": str(host_dir)}
    volume = client.volumes.create(name=name, driver="local", labels=labels, driver_opts={
        "type": "tmpfs", "device": "tmpfs",
        "o": f"size={cfg.data_mb}m,uid={UID},gid={UID},mode=0755,nosuid,nodev"})
    try:
        return client.containers.run(
            cfg.image, name=name, detach=True, labels=labels, user=f"{UID}:{UID}",
            command=["python3", "-m", "ipykernel_launcher", "-f",
                     f"{CONTAINER_DIR}/connection.json", "--HistoryManager.enabled=False",
                     "--IPKernelApp.matplotlib=inline"],
            environment={"HOME": "/tmp", "IPYTHONDIR": "/tmp/.ipython",
                         "MPLCONFIGDIR": "/tmp/.mpl", "PYTHONDONTWRITEBYTECODE": "1"},
            working_dir="/mnt/data", network_mode="none", read_only=True, init=True,
            tmpfs={"/tmp": f"rw,nosuid,nodev,size={cfg.tmp_mb}m,uid={UID},gid={UID}"},
            mounts=[Mount("/mnt/data", name, type="volume"),
                    Mount(CONTAINER_DIR, str(host_dir), type="bind")],
            cap_drop=["ALL"], security_opt=["no-new-privileges"], pids_limit=cfg.pids,
            mem_limit=f"{cfg.memory_mb}m", memswap_limit=f"{cfg.memory_mb}m",
            nano_cpus=int(cfg.cpus * 1e9), ipc_mode="private", log_config={"type": "none"},
            ulimits=[docker.types.Ulimit(name="nofile", soft=1024, hard=1024)])
    except BaseException:
        with contextlib.suppress(APIError):
            volume.remove(force=True)
        raise


def running(container: Container) -> bool:
    """Whether the container (and so its kernel) is still up."""
    try:
        container.reload()
    except NotFound:
        return False
    return container.status == "running"


def destroy(client: docker.DockerClient, container: Container | str) -> None:
    """Remove a container, its data volume and its kernel folder; ignore what is gone."""
    name = container if isinstance(container, str) else container.name
    labels: dict[str, Any] = {}
    with contextlib.suppress(NotFound, APIError):
        c = client.containers.get(name)
        labels = c.labels
        c.remove(force=True)
    with contextlib.suppress(NotFound, APIError):
        client.volumes.get(name).remove(force=True)
    folder = labels.get(f"{LABEL}.dir")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _abandoned(labels: dict[str, str], now: float, host: str) -> bool:
    expired = float(labels.get(f"{LABEL}.expiry", "0")) < now
    return expired or (labels.get(f"{LABEL}.host") == host
                       and not _pid_alive(labels.get(f"{LABEL}.pid", "")))


def orphans(client: docker.DockerClient, keep: set[str]) -> list[str]:
    """Sandboxes past their expiry, or left by a dead worker process on this host."""
    now, host = time.time(), socket.gethostname()
    # The low-level listing: containers.list() inspects each one and fails on any removed
    # in between.
    listed = client.api.containers(all=True, filters={"label": LABEL})
    names = [(c["Names"][0].lstrip("/"), c.get("Labels") or {}) for c in listed if c["Names"]]
    out = [name for name, labels in names
           if name not in keep and _abandoned(labels, now, host)]
    out += [v.name for v in client.volumes.list(filters={"label": LABEL})
            if v.name not in keep and v.name not in out
            and _abandoned(v.attrs.get("Labels") or {}, now, host)]
    return out
