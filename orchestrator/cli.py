"""The `orchestrator` command: api, migrate, worker, beat, dev, batch, flower."""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import uvicorn
from pydantic import ValidationError

from orchestrator.batches.questions import ENDPOINTS, RESPONSES, QuestionsError, Target
from orchestrator.config import get_settings
from orchestrator.dev_hints import model_unreachable, probes_line
from workers.processes import child_name, cpu_count, supervise

DEV_KEY_FILE = Path("var/dev-api-key")
RUN_QUEUES = "runs,batch,webhooks"  # what the run worker of `dev` and compose consumes


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
    ensure_api_keys(args.host)
    uvicorn.run("orchestrator.api.app:app", host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=args.access_log)


def cmd_migrate(args: argparse.Namespace) -> None:
    """Apply database migrations."""
    from orchestrator.migrate import upgrade  # deferred: alembic (~0.5 s) only for migrations

    upgrade(revision=args.revision)
    print(f"database migrated to {args.revision}", flush=True)


def cmd_worker(args: argparse.Namespace) -> None:
    """A Celery worker for runs, webhooks and maintenance (one process per CPU by default)."""
    s = get_settings()
    pool = args.pool or s.worker_pool
    concurrency = args.concurrency or s.worker_concurrency
    wanted = s.worker_processes if args.processes is None else args.processes
    # Only the threads pool is one process; prefork and solo stay as Celery makes them.
    processes = min(wanted or cpu_count(), concurrency) if pool == "threads" else 1
    cap = s.model_max_concurrency  # a provider's limit holds for the whole worker
    if cap:
        processes = min(processes, cap)
    if processes > 1:
        share = -(-concurrency // processes)  # the in-flight total, split evenly

        def argv_for(i: int) -> list[str]:
            argv = [sys.executable, "-m", "orchestrator.cli", "worker", "--processes", "1",
                    "--queues", args.queues, "--concurrency", str(share), "--pool", pool,
                    "--name", child_name(args.name, i), "--log-level", args.log_level]
            return argv + (["--task-events"] if args.task_events else [])

        def env_for(i: int) -> dict[str, str] | None:  # the cap, shared out exactly
            part = cap // processes + (1 if i < cap % processes else 0)
            return {**os.environ, "ORCH_MODEL_MAX_CONCURRENCY": str(part)} if cap else None

        sys.exit(supervise(argv_for, processes, env_for))

    from workers.celery_app import app  # deferred: Celery (~0.4 s) for its subcommands only

    argv = ["worker", "-Q", args.queues, "--concurrency", str(concurrency), "--pool", pool,
            "--loglevel", args.log_level, "-n", f"{args.name}@%h"]
    if args.task_events or s.worker_task_events:
        argv.append("-E")
    app.worker_main(argv)


def cmd_sandbox_worker(args: argparse.Namespace) -> None:
    """The sandbox worker: the sandbox queues only, the one process that talks to Docker."""
    from workers.sandbox_worker import main as sandbox_main  # deferred: docker + engine (~4 s)

    sandbox_main(args.concurrency or get_settings().sandbox_concurrency, args.log_level,
                 args.name)


def cmd_beat(args: argparse.Namespace) -> None:
    """Celery beat: schedules runs.sweep (run exactly one)."""
    from workers.celery_app import app  # deferred: Celery (~0.4 s) for its subcommands only

    schedule = get_settings().data_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", "--loglevel", args.log_level, "--schedule", str(schedule)])


def _docker_up() -> bool:
    """Whether a Docker engine answers (the sandbox worker needs one)."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cmd_dev(args: argparse.Namespace) -> None:
    """api + worker + beat (+ sandbox worker) in one process group; Ctrl-C stops them all."""
    from orchestrator.migrate import upgrade  # deferred: alembic (~0.5 s) only for migrations

    ensure_api_keys(args.host)
    print(probes_line(args.host, args.port), flush=True)
    hint = model_unreachable(get_settings().model_base_url)
    if hint:
        print(hint, flush=True)
    upgrade()
    exe = [sys.executable, "-m", "orchestrator.cli"]
    procs = [
        subprocess.Popen([*exe, "api", "--host", args.host, "--port", str(args.port)]),
        # One process per CPU, but one on SQLite: a second writer only waits for its lock.
        subprocess.Popen([*exe, "worker", "--concurrency", str(args.concurrency),
                          "--queues", RUN_QUEUES, *(["--processes", "1"] if get_settings()
                          .effective_database_url.startswith("sqlite") else [])]),
        # The batch feeder and the sweepers get a process of their own: inside the run
        # worker they wait for the GIL behind hundreds of run threads (bench/README.md).
        subprocess.Popen([*exe, "worker", "--queues", "maintenance", "--concurrency", "4",
                          "--processes", "1", "--name", "maintenance"]),
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


def cmd_batch(args: argparse.Namespace) -> None:
    """Submit a questions file as a batch against a running server and write the answers."""
    from orchestrator.batches.client import Options, run  # deferred: openai + rich (~1.4 s)
    if args.endpoint == RESPONSES and not args.model:
        sys.exit(f"--model is required with --endpoint {RESPONSES}")
    if args.endpoint != RESPONSES and not args.assistant:
        sys.exit(f"--assistant is required with --endpoint {args.endpoint}"
                 f" (or ask a model with --endpoint {RESPONSES} --model MODEL)")
    s = get_settings()
    key = args.api_key or s.client_api_key or (
        DEV_KEY_FILE.read_text().strip() if DEV_KEY_FILE.exists() else "")
    if not key:
        sys.exit("no API key: pass --api-key, set OPENAI_API_KEY, or run the dev server")
    output = Path(args.output or Path(args.questions).with_suffix(".answers.jsonl"))
    try:
        target = Target(args.endpoint, args.assistant or "", args.model or "")
        code = run(Options(Path(args.questions), target, output,
                           args.base_url or s.client_base_url, key, args.poll))
    except QuestionsError as exc:
        sys.exit(str(exc))
    sys.exit(code)


def cmd_flower(args: argparse.Namespace) -> None:
    """Flower on our Celery app; running workers are told to send task events at once."""
    from workers.celery_app import app  # deferred: Celery (~0.4 s) for its subcommands only

    auth = get_settings().flower_basic_auth
    if not auth and not _is_loopback(args.address):
        sys.exit(f"refusing to serve Flower on {args.address} without ORCH_FLOWER_BASIC_AUTH")
    # Show each task's arguments: our tasks carry the run id there.
    argv = ["flower", f"--port={args.port}", f"--address={args.address}",
            "--tasks_columns=name,uuid,state,args,result,received,runtime,worker"]
    if auth:
        argv.append(f"--basic-auth={auth}")
    # Flower repeats this every few seconds (workers started later get it too); the first
    # broadcast here means no task is missed while its timer has not fired yet.
    try:
        app.control.enable_events()
    except Exception as exc:  # broker down: Flower's own timer retries once it is back
        print(f"could not ask workers for task events yet: {exc}", file=sys.stderr, flush=True)
    app.start(argv)


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
    worker.add_argument("--queues", default="runs,batch,webhooks,maintenance")
    worker.add_argument("--concurrency", type=int, default=0,
                        help="model calls in flight (default ORCH_WORKER_CONCURRENCY, 200)")
    worker.add_argument("--pool", default="", choices=["", "threads", "prefork", "solo"],
                        help="Celery pool (default ORCH_WORKER_POOL, threads)")
    worker.add_argument("--processes", type=int, default=None,
                        help="threads-pool processes sharing the concurrency (default "
                             "ORCH_WORKER_PROCESSES; 0 = one per CPU)")
    worker.add_argument("--name", default="runs")
    worker.add_argument("--task-events", action="store_true",
                        help="send Celery task events from the start (default "
                             "ORCH_WORKER_TASK_EVENTS; Flower turns them on while it runs)")
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
    dev.add_argument("--concurrency", type=int, default=32)
    dev.set_defaults(func=cmd_dev)

    batch = sub.add_parser(
        "batch", help="answer a file of questions as a batch (client)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Upload a file of questions as a batch to a running server, show its"
                    " progress, and write\none answer line per question (resumable: run the"
                    " same command again to reattach).",
        epilog="examples:\n"
               "  orchestrator batch questions.txt --assistant asst_abc       # a thread and"
               " run each\n"
               "  orchestrator batch questions.csv --endpoint /v1/responses --model gpt-4o-mini"
               "  # a response each\n\n"
               "JSONL questions files may also hold full batch lines; their url must be the"
               " --endpoint.")
    batch.add_argument("questions", help="plain text (one a line), CSV (question[, id]) or JSONL")
    batch.add_argument("--endpoint", choices=ENDPOINTS, default=ENDPOINTS[0],
                       help="what each question becomes: a thread and its run (default), or"
                            " a response")
    batch.add_argument("--assistant", help="assistant id answering them (/v1/threads/runs)")
    batch.add_argument("--model", help="model answering them (/v1/responses)")
    batch.add_argument("-o", "--output", default="", help="answers JSONL (default: next to input)")
    batch.add_argument("--base-url", default="", help="server URL (default ORCH_BASE_URL)")
    batch.add_argument("--api-key", default="", help="API key (default OPENAI_API_KEY)")
    batch.add_argument("--poll", type=float, default=1.0, help="seconds between progress polls")
    batch.set_defaults(func=cmd_batch)

    flower = sub.add_parser("flower", help="Flower: live view of workers and tasks")
    flower.add_argument("--port", type=int, default=5555)
    flower.add_argument("--address", default="127.0.0.1")
    flower.set_defaults(func=cmd_flower)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        get_settings()  # every command: a bad setting is one clear line now, not a traceback
    except ValidationError as exc:
        sys.exit("orchestrator: invalid settings: " + "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()))
    args.func(args)


if __name__ == "__main__":
    main()
