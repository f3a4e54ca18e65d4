"""The v1 client (openai==1.20.0, the last SDK sending `OpenAI-Beta: assistants=v1`).

It needs httpx<0.28, which the main venv cannot have, so it lives in its own virtualenv
(.venv-sdk1, also built by `make install`). Scenario scripts in tests/sdk_v1/ run in it as
subprocesses and print one JSON object; `run_scenario` returns it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.support.servers import ApiServer

ROOT = Path(__file__).resolve().parents[2]
SDK1_VENV = ROOT / ".venv-sdk1"
SDK1_PYTHON = SDK1_VENV / "bin" / "python"
SCENARIOS = ROOT / "tests" / "sdk_v1" / "scenarios.py"
PINS = ("openai==1.20.0", "httpx<0.28")
_CHECK = (
    "import httpx, openai; "
    "assert openai.__version__ == '1.20.0', openai.__version__; "
    "assert tuple(int(x) for x in httpx.__version__.split('.')[:2]) < (0, 28), httpx.__version__"
)


def sdk1_ready() -> bool:
    """True when .venv-sdk1 exists and has the pinned openai and httpx."""
    if not SDK1_PYTHON.exists():
        return False
    proc = subprocess.run([str(SDK1_PYTHON), "-c", _CHECK], capture_output=True, timeout=60)
    return proc.returncode == 0


def ensure_sdk1_venv() -> Path:
    """Create/repair .venv-sdk1 when needed (fresh clone); return its python."""
    digest = hashlib.sha1(bytes(ROOT)).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"venv-sdk1-{digest}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not sdk1_ready():
                subprocess.run(["python3", "-m", "venv", str(SDK1_VENV)], check=True,
                               cwd=ROOT, capture_output=True, timeout=300)
                subprocess.run([str(SDK1_VENV / "bin" / "pip"), "install", "-q", *PINS],
                               check=True, cwd=ROOT, capture_output=True, timeout=600)
                if not sdk1_ready():
                    raise RuntimeError(f"{SDK1_VENV} does not have {' '.join(PINS)}")
                (SDK1_VENV / ".installed").touch()  # what the Makefile target leaves behind
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return SDK1_PYTHON


def run_scenario(python: Path, server: ApiServer, name: str, *, key: int = 0,
                 timeout: float = 180) -> dict[str, Any]:
    """Run tests/sdk_v1/scenarios.py <name> against `server`; its JSON result."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({"BASE_URL": server.base_url, "API_KEY": server.keys[key],
                "PYTHONUNBUFFERED": "1"})
    proc = subprocess.run([str(python), str(SCENARIOS), name], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(server.log().splitlines()[-40:])
        raise AssertionError(
            f"v1 scenario {name!r} failed (exit {proc.returncode}):\n{proc.stderr}\n"
            f"--- stdout ---\n{proc.stdout[-2000:]}\n--- server log (tail) ---\n{tail}"
        )
    lines = proc.stdout.strip().splitlines()
    return dict(json.loads(lines[-1]))
