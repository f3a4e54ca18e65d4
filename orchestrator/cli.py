"""The `orchestrator` command: api, migrate, worker, beat, dev."""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import sys
from pathlib import Path

from orchestrator.config import get_settings

DEV_KEY_FILE = Path("var/dev-api-key")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ensure_api_keys(host: str) -> None:
    """Refuse to serve other hosts without keys; on loopback, make (and keep) a dev key."""
    if get_settings().api_keys:
        return
    if not _is_loopback(host):
        sys.exit(
            f"refusing to listen on {host} with no API keys: set ORCH_API_KEYS (comma-separated)"
            " or listen on 127.0.0.1 for the loopback-only dev mode"
        )
    DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    if not DEV_KEY_FILE.exists():
        DEV_KEY_FILE.write_text("sk-dev-" + secrets.token_urlsafe(24))
        DEV_KEY_FILE.chmod(0o600)
    key = DEV_KEY_FILE.read_text().strip()
    os.environ["ORCH_API_KEYS"] = key
    get_settings.cache_clear()
    print(f"dev mode (loopback only): no ORCH_API_KEYS set, use API key {key}", flush=True)


def cmd_api(args: argparse.Namespace) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    ensure_api_keys(args.host)
    uvicorn.run("orchestrator.api.app:app", host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=args.access_log)


def cmd_migrate(args: argparse.Namespace) -> None:
    """Apply database migrations."""
    from orchestrator.migrate import upgrade

    upgrade(revision=args.revision)
    print(f"database migrated to {args.revision}", flush=True)


def cmd_worker(args: argparse.Namespace) -> None:
    """A Celery worker for runs, webhooks and maintenance."""
    from workers.celery_app import app

    concurrency = args.concurrency or get_settings().worker_concurrency
    argv = ["worker", "-Q", args.queues, "--concurrency", str(concurrency),
            "--loglevel", args.log_level, "-n", f"{args.name}@%h", "-E"]
    if args.pool:
        argv += ["--pool", args.pool]
    app.worker_main(argv)


def cmd_sandbox_worker(args: argparse.Namespace) -> None:
    """The sandbox worker: the sandbox queues only, the one process that talks to Docker."""
    from workers.sandbox_worker import main as sandbox_main

    sandbox_main(args.concurrency or get_settings().sandbox_concurrency, args.log_level,
                 args.name)


def cmd_beat(args: argparse.Namespace) -> None:
    """Celery beat: schedules runs.sweep (run exactly one)."""
    from workers.celery_app import app

    schedule = get_settings().data_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", "--loglevel", args.log_level, "--schedule", str(schedule)])


def _docker_up() -> bool:
    """Whether a Docker engine answers (the sandbox worker needs one)."""
    import subprocess

    try:
        return subprocess.run(["docker", "info"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cmd_dev(args: argparse.Namespace) -> None:
    """api + worker + beat (+ sandbox worker) in one process group; Ctrl-C stops them all."""
    import signal
    import subprocess
    import time

    from orchestrator.migrate import upgrade

    ensure_api_keys(args.host)
    upgrade()
    exe = [sys.executable, "-m", "orchestrator.cli"]
    procs = [
        subprocess.Popen([*exe, "api", "--host", args.host, "--port", str(args.port)]),
        subprocess.Popen([*exe, "worker", "--concurrency", str(args.concurrency)]),
        subprocess.Popen([*exe, "beat"]),
    ]
    if _docker_up():
        procs.append(subprocess.Popen([*exe, "sandbox-worker", "--concurrency", "2"]))
    else:
        print("no Docker engine: the code interpreter is off (start dockerd, then rerun)",
              flush=True)

    def stop(*_: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 15
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while all(p.poll() is None for p in procs):
        time.sleep(0.5)
    stop()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="orchestrator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    api = sub.add_parser("api", help="serve the Assistants API (uvicorn)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1)
    api.add_argument("--log-level", default="info")
    api.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    api.set_defaults(func=cmd_api)

    migrate = sub.add_parser("migrate", help="apply database migrations (alembic upgrade)")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(func=cmd_migrate)

    worker = sub.add_parser("worker", help="Celery worker for runs, webhooks and maintenance")
    worker.add_argument("--queues", default="runs,webhooks,maintenance")
    worker.add_argument("--concurrency", type=int, default=0)
    worker.add_argument("--pool", default="")
    worker.add_argument("--name", default="runs")
    worker.add_argument("--log-level", default="info")
    worker.set_defaults(func=cmd_worker)

    sbx = sub.add_parser("sandbox-worker", help="code-interpreter worker (queue sandbox, Docker)")
    sbx.add_argument("--concurrency", type=int, default=0)
    sbx.add_argument("--name", default="sandbox")
    sbx.add_argument("--log-level", default="info")
    sbx.set_defaults(func=cmd_sandbox_worker)

    beat = sub.add_parser("beat", help="Celery beat (the sweeper's schedule)")
    beat.add_argument("--log-level", default="info")
    beat.set_defaults(func=cmd_beat)

    dev = sub.add_parser("dev", help="api + worker + beat together (SQLite, local Redis)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--concurrency", type=int, default=2)
    dev.set_defaults(func=cmd_dev)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
