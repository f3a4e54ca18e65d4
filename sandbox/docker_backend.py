"""The Docker backend: a warm pool of hardened kernels, one session per thread, a reaper."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException
from docker.models.containers import Container

from sandbox import containers
from sandbox.containers import SandboxConfig
from sandbox.files import DATA_DIR, pack, safe_name, unpack_regular
from sandbox.kernel import Control, Kernel, Limits, sockets_ready, write_connection
from sandbox.protocol import ExecutionRequest, ExecutionResult, InputFile

log = logging.getLogger(__name__)


@dataclass
class Sandbox:
    """A started container with a connected kernel; bound to at most one session, ever."""

    container: Container
    host_dir: Path
    kernel: Kernel
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    files: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, tuple[str, float, int]] = field(default_factory=dict)
    session: str | None = None


class DockerBackend:
    """SandboxBackend on a local Docker engine (the only place that talks to Docker)."""

    def __init__(self, cfg: SandboxConfig, client: docker.DockerClient | None = None) -> None:
        self.cfg = cfg
        self.client = client or docker.from_env(timeout=60)
        self.instance = uuid.uuid4().hex[:12]
        self.root = (cfg.state_dir / self.instance).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.pool: queue.Queue[Sandbox] = queue.Queue()
        self.sessions: dict[str, Sandbox] = {}
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.filling = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, reap_every: float = 10.0) -> None:
        """Reap what dead workers left, fill the pool and keep reaping in the background."""
        self.reap()
        self.refill()
        threading.Thread(target=self._reaper, args=(reap_every,), daemon=True,
                         name="sandbox-reaper").start()

    def _reaper(self, every: float) -> None:
        while not self.closed.wait(every):
            try:
                self.reap()
            except DockerException:
                log.exception("sandbox reaper failed")

    def refill(self) -> None:
        """Top the warm pool up to pool_size in the background."""
        threading.Thread(target=self._fill, daemon=True, name="sandbox-pool").start()

    def _fill(self) -> None:
        if not self.filling.acquire(blocking=False):
            return
        try:
            while not self.closed.is_set() and self.pool.qsize() < self.cfg.pool_size:
                try:
                    sb = self._boot()
                    if self.closed.is_set():  # closed while we booted: nobody will use it
                        self._drop(sb)
                        return
                    self.pool.put(sb)
                except (DockerException, RuntimeError, OSError):
                    log.exception("could not start a pooled sandbox")
                    time.sleep(1)
        finally:
            self.filling.release()

    def _boot(self) -> Sandbox:
        host_dir = self.root / uuid.uuid4().hex[:12]
        host_dir.mkdir(mode=0o700)
        os.chown(host_dir, containers.UID, containers.UID)
        info = write_connection(host_dir)
        container = containers.create(self.client, self.cfg, self.instance, host_dir)
        kernel: Kernel | None = None
        try:
            deadline = time.monotonic() + self.cfg.start_timeout
            while not sockets_ready(host_dir):
                if time.monotonic() > deadline or not containers.running(container):
                    raise RuntimeError(f"kernel in {container.name} did not start")
                time.sleep(0.05)
            kernel = Kernel(info, max_message=self.cfg.max_export_bytes * 2)
            kernel.ready(self.cfg.start_timeout, lambda: containers.running(container))
            # The kernel has bound its sockets and rewritten its connection file (so not
            # earlier); the folder becomes read-only for the code, so nothing inside can swap
            # a socket for a link that the worker would follow.
            os.chown(host_dir, 0, 0)
            host_dir.chmod(0o755)
        except BaseException:
            if kernel is not None:
                kernel.close()
            containers.destroy(self.client, container)
            raise
        return Sandbox(container, host_dir, kernel)

    def _take(self) -> Sandbox:
        try:
            sb = self.pool.get_nowait()
        except queue.Empty:
            sb = self._boot()
        self.refill()
        if not containers.running(sb.container):
            self._drop(sb)
            return self._take()
        return sb

    def _session(self, key: str) -> Sandbox:
        with self.lock:
            sb = self.sessions.get(key)
            if sb is None:
                try:
                    sb = self._take()
                except (DockerException, RuntimeError, OSError):
                    log.warning("sandbox start failed, trying once more", exc_info=True)
                    sb = self._take()
                sb.session = key
                self.sessions[key] = sb
                # Labels are fixed at creation (pooled containers have no owner yet): the
                # binding is written next to the kernel's sockets for operators to see.
                (sb.host_dir / "session").write_text(key)
            return sb

    def _drop(self, sb: Sandbox) -> None:
        with contextlib.suppress(Exception):
            sb.kernel.close()
        containers.destroy(self.client, sb.container)

    def discard(self, session: str) -> None:
        """Destroy the session's sandbox now (its state is gone)."""
        with self.lock:
            sb = self.sessions.pop(session, None)
        if sb is not None:
            self._drop(sb)

    def reap(self) -> int:
        """Drop idle or too old sessions, then orphans of dead workers and expired ones."""
        now = time.monotonic()
        with self.lock:
            stale = [k for k, sb in self.sessions.items() if not sb.lock.locked() and (
                now - sb.last_used > self.cfg.idle_ttl
                or now - sb.created > self.cfg.max_lifetime)]
            dropped = [self.sessions.pop(k) for k in stale]
            warm = [self.pool.get_nowait() for _ in range(self.pool.qsize())]
            for sb in warm:
                if now - sb.created > self.cfg.max_lifetime or not containers.running(
                        sb.container):
                    dropped.append(sb)
                else:
                    self.pool.put(sb)
            keep = {sb.container.name for sb in self.sessions.values()}
            keep |= {sb.container.name for sb in list(self.pool.queue)}
        for sb in dropped:
            self._drop(sb)
        if dropped:
            self.refill()
        names = containers.orphans(self.client, keep)
        for name in names:
            containers.destroy(self.client, name)
        return len(dropped) + len(names)

    def close(self) -> None:
        """Destroy every sandbox we own (waiting for a pool refill in flight)."""
        self.closed.set()
        if self.filling.acquire(timeout=self.cfg.start_timeout + 5):
            self.filling.release()
        with self.lock:
            owned = list(self.sessions.values())
            self.sessions.clear()
        while not self.pool.empty():
            owned.append(self.pool.get_nowait())
        for sb in owned:
            self._drop(sb)

    # -- execution -------------------------------------------------------------------------
    def execute(self, request: ExecutionRequest,
                cancelled: Callable[[], bool] | None = None) -> ExecutionResult:
        """Run one cell in the request's session; failures come back as results."""
        key = f"{request.owner}:{request.session}"
        try:
            sb = self._session(key)
        except (DockerException, RuntimeError, OSError) as exc:
            log.exception("no sandbox for %s", key)
            return ExecutionResult(status="error", error=f"The sandbox could not start: {exc}")
        with sb.lock:
            try:
                self._copy_in(sb, request.files)
            except (APIError, OSError) as exc:
                return ExecutionResult(status="error", error=f"Input files failed: {exc}")
            control = Control(
                interrupt=lambda: self._signal(sb, "SIGINT"),
                kill=lambda: self._signal(sb, "SIGKILL"),
                alive=lambda: containers.running(sb.container),
                cancelled=cancelled or (lambda: False))
            limits = Limits(timeout=self.cfg.timeout, max_output=self.cfg.max_output)
            result, snapshot = sb.kernel.execute(request.code, limits, control)
            sb.last_used = time.monotonic()
            if result.status == "killed" or (result.status == "cancelled"
                                             and not containers.running(sb.container)):
                self.discard(key)
                return result
            if snapshot is None:
                return result
            changed = {name for name, stat in snapshot.items() if sb.files.get(name) != stat}
            changed -= {n for n in changed if n in sb.inputs and sb.files.get(n) is None
                        and snapshot[n][0] == sb.inputs[n][2]}
            sb.files = snapshot
            if changed:
                result.files = self._copy_out(sb, changed)
            return result

    def _signal(self, sb: Sandbox, sig: str) -> None:
        with contextlib.suppress(APIError):
            sb.container.kill(signal=sig)

    def _copy_in(self, sb: Sandbox, files: tuple[InputFile, ...]) -> None:
        fresh = []
        for f in files:
            st = Path(f.path).stat()
            mark = (f.path, st.st_mtime, st.st_size)
            if sb.inputs.get(safe_name(f.name)) != mark:
                fresh.append(f)
                sb.inputs[safe_name(f.name)] = mark
        if fresh:
            sb.container.put_archive(DATA_DIR, pack(fresh))

    def _copy_out(self, sb: Sandbox, names: set[str]) -> list[Any]:
        try:
            stream, _ = sb.container.get_archive(DATA_DIR)
            return unpack_regular(iter(stream), names, self.cfg.max_export_bytes)
        except APIError:
            log.exception("could not export files from %s", sb.container.name)
            return []
