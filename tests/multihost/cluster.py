"""A deployment on namespaced hosts: data (PostgreSQL, Redis, S3), model, API, workers, sandbox."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from orchestrator.engine import edge_log
from tests.support.netns import Host, Network
from tests.support.servers import BIN, ROOT
from tests.support.stack import FAST_SETTINGS

PG_PORT, REDIS_PORT, S3_PORT, MODEL_PORT, API_PORT = 5432, 6379, 9000, 8080, 8000
BUCKET = "orch-files"


@dataclass
class Cluster:
    """Every host, the environment our processes share, and where each one logs."""

    net: Network
    workdir: Path
    env: dict[str, str]
    keys: list[str]
    hosts: dict[str, Host] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL every role uses (the data host's PostgreSQL)."""
        return self.env["ORCH_DATABASE_URL"]

    def api_url(self, name: str) -> str:
        """The /v1 base URL of an API host."""
        return f"http://{self.hosts[name].addr}:{API_PORT}/v1"

    def model_url(self) -> str:
        """The scripted model's control URL."""
        return f"http://{self.hosts['model'].addr}:{MODEL_PORT}"

    def start_role(self, host: str, role: str, *argv: str, **extra: str) -> None:
        """Start one of our commands on a host, with its own data folder and log."""
        folder = self.workdir / host
        folder.mkdir(exist_ok=True)
        env = {**self.env, "ORCH_DATA_DIR": str(folder / "data"),
               "ORCH_SANDBOX_STATE_DIR": str(folder / "sandbox"), **extra}
        self.hosts[host].start([str(BIN / "orchestrator"), *argv], env,
                               folder / f"{role}.log", cwd=folder)

    def logs(self) -> str:
        """The tail of every role's log (for failure messages)."""
        return "\n".join(f"--- {p.relative_to(self.workdir)}\n"
                         f"{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.workdir.glob("*/*.log")))

    def sql(self, statement: str, **params: object) -> list[tuple[object, ...]]:
        """Read the data host's database (observation only)."""
        url = self.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=5) as conn:
            return list(conn.execute(statement, params or None).fetchall())


def _postgres(host: Host, workdir: Path) -> Path:
    """A private PostgreSQL cluster listening only on the data host's first address."""
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    data = Path(tempfile.mkdtemp(prefix="orch-pg-"))
    shutil.chown(data, "postgres", "postgres")
    subprocess.run(["runuser", "-u", "postgres", "--", str(bindir / "initdb"), "-D", str(data),
                    "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
                   check=True, capture_output=True)
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write("host all all 198.18.0.0/24 trust\n")
    host.start([str(bindir / "postgres"), "-D", str(data), "-c", f"listen_addresses={host.addr}",
                "-c", f"port={PG_PORT}", "-c", f"unix_socket_directories={data}",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=400",
                "-c", "full_page_writes=off"],
               dict(os.environ), workdir / "data" / "postgres.log", user="postgres")
    return data


def _env(database_url: str, redis_url: str, s3_url: str, model_url: str,
         keys: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ORCH_") or k == edge_log.ENV}
    env.update({**FAST_SETTINGS,
                "ORCH_DATABASE_URL": database_url, "ORCH_REDIS_URL": redis_url,
                "ORCH_API_KEYS": ",".join(keys), "ORCH_MODEL_BASE_URL": model_url,
                "ORCH_MODEL_API_KEY": "sk-model", "ORCH_WEBHOOK_ALLOW_PRIVATE": "1",
                "ORCH_STORAGE_URL": f"s3://{BUCKET}/blobs", "ORCH_STORAGE_ENDPOINT_URL": s3_url,
                "ORCH_STORAGE_ACCESS_KEY_ID": "test", "ORCH_STORAGE_SECRET_ACCESS_KEY": "test",
                "ORCH_STORAGE_REGION": "us-east-1", "ORCH_STORAGE_PATH_STYLE": "true",
                "PYTHONUNBUFFERED": "1"})
    return env


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer")
        time.sleep(0.2)


@contextlib.contextmanager
def cluster(net: Network, workdir: Path, model_delay_ms: int,
            settings: dict[str, str]) -> Iterator[Cluster]:
    """Data host, model host, two API hosts, two worker hosts and a sandbox host, all started."""
    hosts = {"data": net.add("data", 1, 2), "model": net.add("model", 9),
             "api1": net.add("api1", 11), "api2": net.add("api2", 12),
             "w1": net.add("w1", 21), "w2": net.add("w2", 22), "sbx": net.add("sbx", 31)}
    data = hosts["data"]
    (workdir / "data").mkdir()
    pg_data = _postgres(data, workdir)
    data.start(["redis-server", "--bind", data.addrs[1], "--port", str(REDIS_PORT), "--save", "",
                "--appendonly", "no", "--protected-mode", "no"], dict(os.environ),
               workdir / "data" / "redis.log")
    data.start([str(BIN / "moto_server"), "-H", data.addr, "-p", str(S3_PORT)],
               dict(os.environ), workdir / "data" / "s3.log")
    (workdir / "model").mkdir()
    hosts["model"].start([sys.executable, "-m", "tests.support.model_server", "--host",
                          hosts["model"].addr, "--port", str(MODEL_PORT), "--delay-ms",
                          str(model_delay_ms)], dict(os.environ), workdir / "model" / "model.log",
                         cwd=ROOT)
    for addr, port in ((data.addr, PG_PORT), (data.addrs[1], REDIS_PORT), (data.addr, S3_PORT),
                       (hosts["model"].addr, MODEL_PORT)):
        net.wait_reachable(addr, port, timeout=60)
    with psycopg.connect(f"postgresql://postgres@{data.addr}:{PG_PORT}/postgres",
                         autocommit=True) as conn:
        conn.execute("CREATE DATABASE orch")
    s3_url = f"http://{data.addr}:{S3_PORT}"
    httpx.put(f"{s3_url}/{BUCKET}", timeout=10).raise_for_status()  # create the bucket
    keys = ["sk-multi-" + secrets.token_hex(8)]
    env = _env(f"postgresql+psycopg://postgres@{data.addr}:{PG_PORT}/orch",
               f"redis://{data.addrs[1]}:{REDIS_PORT}/0", s3_url,
               f"http://{hosts['model'].addr}:{MODEL_PORT}/v1", keys)
    env.update(settings)
    cl = Cluster(net, workdir, env, keys, hosts)
    (workdir / "api1").mkdir()
    hosts["api1"].run([str(BIN / "orchestrator"), "migrate"], env=env)
    for name in ("api1", "api2"):
        cl.start_role(name, "api", "api", "--host", hosts[name].addr, "--port", str(API_PORT),
                      "--no-access-log")
    for name in ("w1", "w2"):
        cl.start_role(name, "worker", "worker", "--queues", "runs,batch,webhooks",
                      "--processes", "1", "--concurrency", "200", "--name", f"runs-{name}")
        cl.start_role(name, "maintenance", "worker", "--queues", "maintenance", "--processes",
                      "1", "--concurrency", "4", "--name", f"maintenance-{name}")
        cl.start_role(name, "beat", "beat")
    cl.start_role("sbx", "sandbox", "sandbox-worker", "--concurrency", "2",
                  ORCH_SANDBOX_HOST="sbx")
    try:
        for name in ("api1", "api2"):
            _wait_http(f"http://{hosts[name].addr}:{API_PORT}/health")
        yield cl
    finally:
        net.close()
        shutil.rmtree(pg_data, ignore_errors=True)
