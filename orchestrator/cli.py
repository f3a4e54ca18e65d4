"""The `orchestrator` command: api, migrate (later issues add worker, beat, sandbox-worker, …)."""

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
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
