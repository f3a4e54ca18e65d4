"""A private Redis primary, one replica and three sentinels on free loopback ports, so a test can
kill the primary and watch Sentinel promote the replica."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.support.servers import free_port

MASTER = "mymaster"  # ORCH_REDIS_SENTINEL_MASTER's default
DOWN_AFTER_MS = 1000  # a primary silent this long is down (the default is 30 s)
FAILOVER_TIMEOUT_MS = 4000  # a failed election is retried after about twice this


def _binary() -> str:
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def _wait(check: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.1)
    raise RuntimeError(f"Sentinel cluster: {what} within {timeout:g} s")


@dataclass
class SentinelCluster:
    """Primary and replica (no persistence) watched by three sentinels, quorum 2."""

    workdir: Path
    primary_port: int = field(default_factory=free_port)
    replica_port: int = field(default_factory=free_port)
    sentinel_ports: list[int] = field(default_factory=lambda: [free_port() for _ in range(3)])
    password: str = ""  # the servers' requirepass (and the replica's masterauth)
    sentinel_password: str = ""  # the sentinels' own requirepass
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """ORCH_REDIS_URL in Celery's form, database 0 (and the password) written once."""
        auth = f":{self.password}@" if self.password else ""
        return ";".join(f"sentinel://{auth if i == 0 else ''}127.0.0.1:{p}"
                        for i, p in enumerate(self.sentinel_ports)) + "/0"

    def _client(self, port: int, sentinel: bool = False) -> redis.Redis:
        password = self.sentinel_password if sentinel else self.password
        return redis.Redis(port=port, password=password or None, socket_timeout=1)

    def _start(self, port: int, *args: str) -> None:
        log = (self.workdir / f"redis-{port}.log").open("wb")
        self.processes[port] = subprocess.Popen([_binary(), *args], stdout=log,
                                                stderr=subprocess.STDOUT)

    def _start_server(self, port: int, *extra: str) -> None:
        data = self.workdir / f"redis-{port}"
        data.mkdir(exist_ok=True)
        auth = ["--requirepass", self.password, "--masterauth", self.password] if (
            self.password) else []
        self._start(port, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(data), *auth, *extra)

    def _start_sentinel(self, port: int) -> None:
        conf = self.workdir / f"sentinel-{port}.conf"  # Sentinel rewrites it: one each
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {self.primary_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {MASTER} 1\n"
            + (f"sentinel auth-pass {MASTER} {self.password}\n" if self.password else "")
            + (f"requirepass {self.sentinel_password}\nsentinel sentinel-pass"
               f" {self.sentinel_password}\n" if self.sentinel_password else ""))
        self._start(port, str(conf), "--sentinel")

    def start(self) -> None:
        """Start everything; return once the replica is in sync and the sentinels know the
        replica and each other (an election needs a majority of them)."""
        self._start_server(self.primary_port)
        self._start_server(self.replica_port, "--replicaof", "127.0.0.1",
                           str(self.primary_port))
        for port in self.sentinel_ports:
            self._start_sentinel(port)
        replica = self._client(self.replica_port)
        _wait(lambda: replica.info("replication").get("master_link_status") == "up",
              "the replica did not sync")
        for port in self.sentinel_ports:
            node = self._client(port, sentinel=True)
            _wait(lambda n=node: (m := n.sentinel_master(MASTER))["num-slaves"] == 1
                  and m["num-other-sentinels"] == 2, f"sentinel {port} did not see its peers")

    def master_port(self) -> int | None:
        """The primary's port as a majority of the sentinels report it now."""
        seen: list[int] = []
        for port in self.sentinel_ports:
            with contextlib.suppress(redis.RedisError):
                addr = self._client(port, sentinel=True).sentinel_get_master_addr_by_name(MASTER)
                seen.append(int(addr[1]))
        best = max(set(seen), key=seen.count, default=None)
        return best if best is not None and seen.count(best) >= 2 else None

    def kill_primary(self) -> None:
        """SIGKILL the server that is primary now."""
        port = self.master_port()
        assert port is not None, "no primary to kill"
        proc = self.processes[port]
        proc.kill()
        proc.wait(timeout=10)

    def wait_promoted(self, old: int, timeout: float = 30) -> int:
        """Wait until the sentinels name another primary that answers as one; its port."""
        def promoted() -> bool:
            port = self.master_port()
            return port not in (None, old) and self._client(port).info(
                "replication")["role"] == "master"
        _wait(promoted, "no replica was promoted", timeout)
        port = self.master_port()
        assert port is not None
        return port

    def stop(self) -> None:
        """Kill every process."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@contextlib.contextmanager
def sentinel_cluster(workdir: Path, password: str = "",
                     sentinel_password: str = "") -> Iterator[SentinelCluster]:
    """A Sentinel-watched Redis pair for the duration of the block."""
    cluster = SentinelCluster(workdir, password=password, sentinel_password=sentinel_password)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
