"""Hardened sandbox containers: create with every limit, label, find and remove them."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.types import Mount

from sandbox.kernel import CONTAINER_DIR

LABEL = "orchestrator.sandbox"
# What a call to the engine may raise: the SDK's errors, and requests' own while it is down.
ENGINE_ERRORS = (DockerException, requests.RequestException)
UID = 1000
HEARTBEAT = "alive"  # touched by a live backend in its state folder
HEARTBEAT_EVERY = 5.0
HEARTBEAT_STALE = 30.0  # seconds without a beat after which a backend counts as gone
INIT = "init.py"  # sandbox/init.py, copied next to the kernel's sockets: the container's PID 1


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
    max_sessions: int = 16
    idle_ttl: float = 600.0
    max_lifetime: float = 3600.0
    start_timeout: float = 30.0


class MissingImage(RuntimeError):
    """The sandbox image is not on the Docker engine (nothing can start until it is built)."""


def missing_image_message(image: str) -> str:
    """What is missing and the commands that build it."""
    return (f"The sandbox image '{image}' is not on the sandbox worker's Docker engine: build "
            f"it with `ORCH_SANDBOX_IMAGE={image} sandbox/image/build-offline.sh` (no registry "
            f"needed) or `docker build -t {image} sandbox/image`.")


def require_image(client: docker.DockerClient, image: str) -> None:
    """Raise MissingImage unless the image is present (never pull: no registry is assumed)."""
    try:
        client.images.get(image)
    except ImageNotFound:
        raise MissingImage(missing_image_message(image)) from None


def pid_namespace() -> str:
    """Our pid namespace ('' when unknown): a pid only means something within its own."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def instance_labels(instance: str) -> dict[str, str]:
    """Who owns a container: this host, this process (its pid, in its pid namespace, tells
    the reaper if it lives)."""
    return {LABEL: "1", f"{LABEL}.host": socket.gethostname(),
            f"{LABEL}.pid": str(os.getpid()), f"{LABEL}.pidns": pid_namespace(),
            f"{LABEL}.instance": instance}


def new_name() -> str:
    """A fresh container (and data volume) name."""
    return f"sandbox-{uuid.uuid4().hex[:12]}"


def create(client: docker.DockerClient, cfg: SandboxConfig, instance: str,
           host_dir: Path, name: str) -> Container:
    """Start one hardened container whose kernel listens on sockets in `host_dir`."""
    expiry = int(time.time() + cfg.max_lifetime)
    labels = {**instance_labels(instance), f"{LABEL}.expiry": str(expiry),
              f"{LABEL}.dir": str(host_dir)}
    volume = client.volumes.create(name=name, driver="local", labels=labels, driver_opts={
        "type": "tmpfs", "device": "tmpfs",
        "o": f"size={cfg.data_mb}m,uid={UID},gid={UID},mode=0755,nosuid,nodev"})
    try:
        return client.containers.run(
            cfg.image, name=name, detach=True, labels=labels, user=f"{UID}:{UID}",
            command=["python3", f"{CONTAINER_DIR}/{INIT}", "python3", "-m",
                     "ipykernel_launcher", "-f", f"{CONTAINER_DIR}/connection.json",
                     "--HistoryManager.enabled=False", "--IPKernelApp.matplotlib=inline"],
            environment={"HOME": "/tmp", "IPYTHONDIR": "/tmp/.ipython",
                         "MPLCONFIGDIR": "/tmp/.mpl", "PYTHONDONTWRITEBYTECODE": "1"},
            working_dir="/mnt/data", network_mode="none", read_only=True,
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


def destroy(client: docker.DockerClient, container: Container | str,
            folder: Path | None = None) -> None:
    """Remove a container, its data volume and its kernel folder; ignore what is gone, and
    an unreachable engine (the reaper removes what is left once it answers again)."""
    name = container if isinstance(container, str) else container.name
    labels: dict[str, Any] = {}
    with contextlib.suppress(*ENGINE_ERRORS):
        c = client.containers.get(name)
        labels = c.labels
        c.remove(force=True)
    with contextlib.suppress(*ENGINE_ERRORS):
        client.volumes.get(name).remove(force=True)
    where = folder or labels.get(f"{LABEL}.dir")
    if where:
        shutil.rmtree(where, ignore_errors=True)


def owned_by(client: docker.DockerClient, instance: str) -> list[str]:
    """Names of every container and volume an instance made."""
    label = {"label": f"{LABEL}.instance={instance}"}
    names = [c["Names"][0].lstrip("/") for c in client.api.containers(all=True, filters=label)
             if c["Names"]]
    return names + [v.name for v in client.volumes.list(filters=label) if v.name not in names]


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def heartbeat_path(folder: str | Path) -> Path:
    """The owner's heartbeat file, found from a sandbox's kernel folder (its `dir` label)."""
    return Path(folder).parent / HEARTBEAT


def beat(root: Path) -> None:
    """Mark the backend owning `root` alive (mtime); others reap its sandboxes once stale."""
    (root / HEARTBEAT).touch()


def _owner_gone(labels: dict[str, str], now: float, host: str, instance: str) -> bool:
    """Whether the worker that made a sandbox is gone (never true for our own)."""
    if labels.get(f"{LABEL}.instance") == instance:
        return False
    folder = labels.get(f"{LABEL}.dir")
    if folder:
        with contextlib.suppress(OSError):  # a worker sharing our state folder: its heartbeat
            if now - heartbeat_path(folder).stat().st_mtime > HEARTBEAT_STALE:
                return True
    ns = pid_namespace()
    if labels.get(f"{LABEL}.host") != host or not ns or labels.get(f"{LABEL}.pidns") != ns:
        return False  # its pid is not one we can look up
    pid = labels.get(f"{LABEL}.pid", "")
    # Our pid on another instance: an earlier process with our pid (a restarted container).
    return pid == str(os.getpid()) or not _pid_alive(pid)


def orphans(client: docker.DockerClient, tracked: Callable[[], set[str]],
            instance: str) -> list[str]:
    """Sandboxes to remove: past their expiry, left by a worker that is gone, or our own
    that we no longer track (`tracked()` is asked after the listing, so a sandbox created
    meanwhile is never taken for one)."""
    now, host = time.time(), socket.gethostname()

    def abandoned(labels: dict[str, str]) -> bool:
        return (float(labels.get(f"{LABEL}.expiry", "0")) < now
                or _owner_gone(labels, now, host, instance))

    # The low-level listing: containers.list() inspects each one and fails on any removed
    # in between.
    listed = [(c["Names"][0].lstrip("/"), c.get("Labels") or {})
              for c in client.api.containers(all=True, filters={"label": LABEL}) if c["Names"]]
    listed += [(v.name, v.attrs.get("Labels") or {})
               for v in client.volumes.list(filters={"label": LABEL})]
    keep = tracked()
    out: list[str] = []
    for name, labels in listed:
        mine = labels.get(f"{LABEL}.instance") == instance
        if name not in keep and name not in out and (mine or abandoned(labels)):
            out.append(name)
    return out
