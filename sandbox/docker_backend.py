"""The Docker backend: a warm pool of hardened kernels, one session per thread, a reaper."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException
from docker.models.containers import Container

from sandbox import containers, leftovers
from sandbox.containers import MissingImage, SandboxConfig
from sandbox.files import copy_in, copy_out, utf8_text
from sandbox.kernel import Control, Kernel, Limits, sockets_ready, write_connection
from sandbox.protocol import BlobSource, ExecutionRequest, ExecutionResult

log = logging.getLogger(__name__)
START_ERRORS = (DockerException, RuntimeError, OSError)
FRESH = ("[This is a new Python session: the previous one {why}; variables and files of "
         "earlier calls are gone.]")


def _no_blobs(key: str) -> Iterator[bytes]:
    raise LookupError(f"this backend was given no blob source (asked for {key!r})")


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
    inputs: dict[str, tuple[str, int]] = field(default_factory=dict)  # name: (key, size)
    session: str | None = None
    users: int = 0  # calls holding or waiting for it (guarded by the backend's lock)


class DockerBackend:
    """SandboxBackend on a local Docker engine (the only place that talks to Docker)."""

    def __init__(self, cfg: SandboxConfig, client: docker.DockerClient | None = None,
                 blobs: BlobSource | None = None) -> None:
        self.cfg = cfg
        self.blobs = blobs or _no_blobs
        self.client = client or docker.from_env(timeout=60)
        self.instance = uuid.uuid4().hex[:12]
        self.root = (cfg.state_dir / self.instance).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        containers.beat(self.root)
        self.pool: queue.Queue[Sandbox] = queue.Queue()
        self.sessions: dict[str, Sandbox] = {}
        self.closed_why: OrderedDict[str, str] = OrderedDict()  # session -> why it was closed
        self.owned: set[str] = set()  # every container we made and did not destroy yet
        self.owning = threading.Lock()  # guards `owned` (taken inside `lock` too)
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.filling = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, reap_every: float = 10.0) -> None:
        """Reap what dead workers left, fill the pool and keep reaping in the background;
        without the image, say once what is missing and how to build it."""
        self.reap()
        try:
            containers.require_image(self.client, self.cfg.image)
            self.refill()
        except MissingImage as exc:
            log.error("%s Code-interpreter calls fail until then.", exc)
        for target, args in ((self._reaper, (reap_every,)), (self._beat, ())):
            threading.Thread(target=target, args=args, daemon=True,
                             name=f"sandbox{target.__name__}").start()

    def _beat(self) -> None:
        while not self.closed.wait(containers.HEARTBEAT_EVERY):
            with contextlib.suppress(OSError):
                containers.beat(self.root)

    def _reaper(self, every: float) -> None:
        """Reap forever; an engine outage (any error: requests' own are no DockerException)
        is logged once, retried with a back-off, and its end logged once."""
        delay, down = every, False
        while not self.closed.wait(delay):
            try:
                self.reap()
            except Exception as exc:  # the reaper must outlive any outage
                if not down:
                    log.warning("sandbox reaper: the Docker engine does not answer (%s); "
                                "retrying with a back-off", exc)
                down, delay = True, min(delay * 2, every * 6)
                continue
            if down:
                log.warning("sandbox reaper: the Docker engine answers again; reaping resumed")
            delay, down = every, False

    def refill(self) -> None:
        """Top the warm pool up to pool_size in the background."""
        threading.Thread(target=self._fill, daemon=True, name="sandbox-pool").start()

    def _fill(self) -> None:
        if not self.filling.acquire(blocking=False):
            return
        try:
            delay = 1.0
            while not self.closed.is_set() and self.pool.qsize() < self.cfg.pool_size:
                try:
                    sb = self._boot()
                except MissingImage:
                    return  # said at start; each call says it again
                except START_ERRORS as exc:
                    if delay == 1.0:
                        log.warning("could not start a pooled sandbox (%s); retrying", exc)
                    self.closed.wait(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                if self.closed.is_set():  # closed while we booted: nobody will use it
                    self._drop(sb)
                    return
                self.pool.put(sb)
                delay = 1.0
        finally:
            self.filling.release()

    def _boot(self) -> Sandbox:
        containers.require_image(self.client, self.cfg.image)
        host_dir = self.root / uuid.uuid4().hex[:12]
        host_dir.mkdir(mode=0o700)
        os.chown(host_dir, containers.UID, containers.UID)
        info = write_connection(host_dir)
        shutil.copyfile(Path(__file__).with_name("init.py"), host_dir / containers.INIT)
        name = containers.new_name()
        with self.owning:
            self.owned.add(name)
        kernel: Kernel | None = None
        try:
            container = containers.create(self.client, self.cfg, self.instance, host_dir, name)
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
            self._destroy(name, host_dir)
            raise
        return Sandbox(container, host_dir, kernel)

    def _destroy(self, name: str, host_dir: Path | None = None) -> None:
        """Remove one of our containers; if the engine is down, the reaper finishes it later
        (it removes whatever of ours we no longer track)."""
        containers.destroy(self.client, name, host_dir)
        with self.owning:
            self.owned.discard(name)

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

    def _session(self, key: str) -> tuple[Sandbox, str | None]:
        """The session's sandbox (one more user) and, when it is new although the session
        had one before, why that one was closed."""
        with self.lock:
            sb, why = self.sessions.get(key), None
            if sb is None:
                self._make_room()
                try:
                    sb = self._take()
                except MissingImage:
                    raise
                except START_ERRORS:
                    log.warning("sandbox start failed, trying once more", exc_info=True)
                    sb = self._take()
                sb.session = key
                self.sessions[key] = sb
                why = self.closed_why.pop(key, None)
                # Labels are fixed at creation (pooled containers have no owner yet): the
                # binding is written next to the kernel's sockets for operators to see.
                (sb.host_dir / "session").write_text(key)
            sb.users += 1
            return sb, why

    def _make_room(self) -> None:
        """At the cap, close the least recently used idle sessions (caller holds the lock)."""
        while len(self.sessions) >= self.cfg.max_sessions:
            idle = [(sb.last_used, k) for k, sb in self.sessions.items() if sb.users == 0]
            if not idle:
                return  # all busy: the cap is exceeded while they run
            _, key = min(idle)
            self._forget(key, "was closed to make room for other sessions (this worker "
                              f"keeps at most {self.cfg.max_sessions})")
            threading.Thread(target=self._drop, args=(self.sessions.pop(key),),
                             daemon=True, name="sandbox-evict").start()

    def _forget(self, key: str, why: str) -> None:
        self.closed_why[key] = why
        while len(self.closed_why) > 4096:
            self.closed_why.popitem(last=False)

    def _drop(self, sb: Sandbox) -> None:
        with contextlib.suppress(Exception):
            sb.kernel.close()
        self._destroy(sb.container.name, sb.host_dir)

    def discard(self, session: str) -> None:
        """Destroy the session's sandbox now (its state is gone)."""
        with self.lock:
            sb = self.sessions.pop(session, None)
        if sb is not None:
            self._drop(sb)

    def reap(self) -> int:
        """Drop idle, too old or stopped sessions, then orphans: expired, of workers that are
        gone, or our own that we no longer track (e.g. left by an engine outage)."""
        now = time.monotonic()
        with self.lock:
            idle = [(k, sb) for k, sb in self.sessions.items() if sb.users == 0]
        stopped = {k for k, sb in idle if not containers.running(sb.container)}
        with self.lock:
            dropped = []
            for key, sb in idle:
                why = ("had stopped" if key in stopped
                       else f"was idle for more than {self.cfg.idle_ttl:g} s"
                       if now - sb.last_used > self.cfg.idle_ttl
                       else "reached its maximum lifetime"
                       if now - sb.created > self.cfg.max_lifetime else None)
                if why and sb.users == 0 and self.sessions.get(key) is sb:
                    dropped.append(self.sessions.pop(key))
                    self._forget(key, why)
            warm = [self.pool.get_nowait() for _ in range(self.pool.qsize())]
            for sb in warm:
                if now - sb.created > self.cfg.max_lifetime or not containers.running(
                        sb.container):
                    dropped.append(sb)
                else:
                    self.pool.put(sb)
        for sb in dropped:
            self._drop(sb)
        if dropped:
            self.refill()

        def tracked() -> set[str]:
            with self.owning:
                return set(self.owned)

        names = containers.orphans(self.client, tracked, self.instance)
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
        with contextlib.suppress(*containers.ENGINE_ERRORS):  # what an outage left behind
            for name in containers.owned_by(self.client, self.instance):
                containers.destroy(self.client, name)

    # -- execution -------------------------------------------------------------------------
    def execute(self, request: ExecutionRequest,
                cancelled: Callable[[], bool] | None = None) -> ExecutionResult:
        """Run one cell in the request's session; failures come back as results."""
        key = f"{request.owner}:{request.session}"
        try:
            sb, why = self._session(key)
        except MissingImage as exc:
            log.warning("%s", exc)
            return ExecutionResult(status="unavailable", error=str(exc))
        except START_ERRORS as exc:
            log.warning("no sandbox for %s: %s", key, exc)
            return ExecutionResult(status="error", error=f"The sandbox could not start: {exc}")
        try:
            result = self._run(key, sb, request, cancelled)
        finally:
            with self.lock:
                sb.users -= 1
        if why:
            result.logs = FRESH.format(why=why) + ("\n" + result.logs if result.logs else "")
        result.logs, result.error = utf8_text(result.logs), result.error and utf8_text(
            result.error)
        return result

    def _run(self, key: str, sb: Sandbox, request: ExecutionRequest,
             cancelled: Callable[[], bool] | None) -> ExecutionResult:
        with sb.lock:
            try:
                copy_in(sb.container, sb.inputs, request.files, self.blobs)
            except (APIError, OSError, LookupError) as exc:  # LookupError: no such blob
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
            note = self._stop_leftovers(key, sb)
            if note:
                result.logs += ("\n" if result.logs else "") + note
            if snapshot is None:
                return result
            changed = {name for name, stat in snapshot.items() if sb.files.get(name) != stat}
            # An input is no output: new here, or copied over again and left untouched
            # (the size it came with, the archive's mtime 0).
            changed -= {n for n in changed if n in sb.inputs
                        and snapshot[n][0] == sb.inputs[n][1]
                        and (sb.files.get(n) is None or snapshot[n][1] == 0)}
            sb.files = snapshot
            if changed:
                result.files, notes = copy_out(sb.container, changed,
                                               self.cfg.max_export_bytes)
                result.logs = "\n".join(filter(None, [result.logs, *notes]))
            return result

    def _stop_leftovers(self, key: str, sb: Sandbox) -> str | None:
        """Kill what the cell left running; the session's variables stay. When that fails
        the session is reset rather than left burning CPU."""
        try:
            stopped = leftovers.stop(sb.container)
        except (DockerException, RuntimeError) as exc:
            log.warning("could not stop what a cell left running in %s (%s); resetting it",
                        sb.container.name, exc)
            with self.lock:
                self._forget(key, "could not stop the processes the code left running")
            self.discard(key)
            return ("[The processes the code left running could not be stopped: the session "
                    "was reset.]")
        return leftovers.note(stopped) if stopped else None

    def _signal(self, sb: Sandbox, sig: str) -> None:
        with contextlib.suppress(APIError):
            sb.container.kill(signal=sig)
