"""RabbitMQ for tests: a vhost of its own on the machine's server, or a private node to restart."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kombu import Connection

from tests.support.servers import free_port

HOST = os.environ.get("ORCH_TEST_RABBITMQ_HOST", "127.0.0.1")
PORT = int(os.environ.get("ORCH_TEST_RABBITMQ_PORT", "5672"))
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")  # Debian's; runs as the calling user


def rabbitmq_available() -> bool:
    """True when the machine's RabbitMQ answers and `rabbitmqctl` can manage it."""
    if not shutil.which("rabbitmqctl"):
        return False
    with contextlib.suppress(OSError), socket.create_connection((HOST, PORT), timeout=2):
        return True
    return False


def private_node_available() -> bool:
    """True when a private rabbitmq-server node can be started (the Debian package is in)."""
    return SERVER.exists()


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A fresh vhost on the machine's RabbitMQ (its AMQP URL), deleted afterwards: two stacks'
    workers on one vhost would take each other's tasks."""
    name = "orch_test_" + uuid.uuid4().hex[:12]
    _ctl("add_vhost", name)
    try:
        _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{HOST}:{PORT}/{name}"
    finally:
        _ctl("delete_vhost", name)


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@dataclass
class RabbitServer:
    """A private rabbitmq-server node on free loopback ports, with its data in `workdir`, so a
    test can kill and restart it (the machine's RabbitMQ is never touched)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    epmd_port: int = field(default_factory=free_port)
    name: str = field(default_factory=lambda: f"orch{uuid.uuid4().hex[:8]}@localhost")
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The AMQP URL of its default vhost."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        home = self.workdir / "rabbitmq"
        home.mkdir(parents=True, exist_ok=True)
        (home / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\nloopback_users = none\n")
        (home / "rabbitmq-env.conf").write_text("")  # not the machine's /etc/rabbitmq one
        (home / "enabled_plugins").write_text("[].\n")
        return {
            **os.environ,
            "HOME": str(home),  # its own Erlang cookie
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),  # its own epmd, stopped with the node
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_CONF_ENV_FILE": str(home / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(home / "log"),
            "RABBITMQ_PID_FILE": str(home / "pid"),
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def start(self, timeout: float = 60) -> None:
        """Start (or restart) the node on the same ports and data: durable queues come back."""
        env = self._env()
        log = self.workdir / "rabbitmq" / "server.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen([str(SERVER)], env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited; see {log}")
            with contextlib.suppress(Exception), Connection(self.url, connect_timeout=1) as c:
                c.ensure_connection(max_retries=1)
                return
            time.sleep(0.2)
        raise RuntimeError("rabbitmq-server did not start")

    def stop(self) -> None:
        """Stop the node cleanly (SIGTERM, as `rabbitmqctl stop`); the data stays for start()."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the node (a crash): only what it had written to disk survives."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)

    def stop_epmd(self) -> None:
        """Stop the node's own epmd (the one the node started on epmd_port)."""
        epmd = shutil.which("epmd") or "/usr/bin/epmd"
        env = {**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # it refuses while the dead node is still listed
            done = subprocess.run([epmd, "-kill"], env=env, capture_output=True, text=True,
                                  timeout=10, check=False)
            if "Killed" in done.stdout or "Cannot connect" in done.stdout + done.stderr:
                return
            time.sleep(0.2)


@contextlib.contextmanager
def rabbitmq_server(workdir: Path) -> Iterator[RabbitServer]:
    """A private RabbitMQ node for the duration of the block."""
    server = RabbitServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        server.stop_epmd()
