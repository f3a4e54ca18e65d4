"""A Jupyter kernel reached over ipc sockets in a mounted folder: run a cell, collect outputs."""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, Literal

import zmq
from jupyter_client.blocking import BlockingKernelClient

from sandbox.protocol import ExecutionResult

CONTAINER_DIR = "/run/kernel"
PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Evaluated by the kernel after each cell: the regular files under /mnt/data (size, mtime).
SNAPSHOT = (
    "(lambda os, st: __import__('json').dumps({os.path.relpath(p, '/mnt/data'): "
    "[s.st_size, s.st_mtime_ns] for d, _, ns in os.walk('/mnt/data') "
    "for p in [os.path.join(d, n) for n in ns] for s in [os.lstat(p)] "
    "if st.S_ISREG(s.st_mode)}))(__import__('os'), __import__('stat'))"
)


def write_connection(host_dir: Path) -> dict[str, Any]:
    """Write the kernel's connection file (container paths); return the host-side info."""
    key = secrets.token_hex(16)
    common = {**PORTS, "transport": "ipc", "key": key, "signature_scheme": "hmac-sha256",
              "kernel_name": "python3"}
    (host_dir / "connection.json").write_text(
        json.dumps({**common, "ip": f"{CONTAINER_DIR}/k"}))
    return {**common, "ip": str(host_dir / "k")}


def sockets_ready(host_dir: Path) -> bool:
    """Whether the kernel has bound all of its sockets."""
    return all((host_dir / f"k-{port}").exists() for port in PORTS.values())


@dataclass
class Limits:
    """Per-call limits enforced on the worker side."""

    timeout: float = 30.0
    grace: float = 2.0
    max_output: int = 64 * 1024
    max_images: int = 10


@dataclass
class Control:
    """How to stop a runaway cell: interrupt the kernel, or kill the whole sandbox."""

    interrupt: Callable[[], None]
    kill: Callable[[], None]
    alive: Callable[[], bool]
    cancelled: Callable[[], bool] = field(default=lambda: False)


class Kernel:
    """One client connection to one sandboxed kernel."""

    def __init__(self, info: dict[str, Any], max_message: int = 64 * 2**20) -> None:
        self.client = BlockingKernelClient()
        # The kernel runs hostile code: one oversized message must not exhaust our memory.
        self.client.context.setsockopt(zmq.MAXMSGSIZE, max_message)
        self.client.load_connection_info(info)  # type: ignore[arg-type]
        # No heartbeat channel: on a loaded host a late beat reads as a dead kernel; liveness
        # comes from the container's state instead.
        self.client.start_channels(hb=False)

    def ready(self, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
        """Block until the kernel answers on shell and its iopub messages reach us."""
        deadline = time.monotonic() + timeout
        msg_id = self.client.kernel_info()
        while time.monotonic() < deadline:
            try:
                reply = self.client.get_shell_msg(timeout=1.0)
            except Empty:
                if not alive():
                    raise RuntimeError("the kernel exited while starting") from None
                continue
            if reply["parent_header"].get("msg_id") != msg_id:
                continue
            seen = False
            with contextlib.suppress(Empty):
                while True:  # drain; any status message of ours proves the subscription
                    msg = self.client.get_iopub_msg(timeout=0.2)
                    seen = seen or msg["parent_header"].get("msg_id") == msg_id
            if seen:
                return
            msg_id = self.client.kernel_info()  # iopub joined late: ask again
        raise RuntimeError("the kernel did not answer in time")

    def close(self) -> None:
        """Close our sockets (the kernel itself dies with its container)."""
        self.client.stop_channels()

    def execute(self, code: str, limits: Limits,
                control: Control) -> tuple[ExecutionResult, dict[str, Any] | None]:
        """Run `code`; the result and the /mnt/data snapshot taken after it (None: unknown)."""
        start = time.monotonic()
        msg_id = self.client.execute(code, store_history=True, allow_stdin=False,
                                     user_expressions={"files": SNAPSHOT})
        out = _Collector(limits)
        result = ExecutionResult()
        stopping: Literal["timeout", "cancelled"] | None = None
        stop_at = start + limits.timeout
        last_check = start
        while True:
            now = time.monotonic()
            if stopping is None and (now > stop_at or (now - last_check > 0.2
                                                        and control.cancelled())):
                stopping = "timeout" if now > stop_at else "cancelled"
                control.interrupt()
                stop_at = now + limits.grace
            elif stopping is not None and now > stop_at:
                control.kill()
                result.status = "cancelled" if stopping == "cancelled" else "killed"
                result.error = _stop_message(stopping, limits, killed=True)
                break
            if now - last_check > 0.2:
                last_check = now
                if not control.alive():
                    result.status, result.error = "killed", (
                        "The Python kernel died (out of memory or too many processes); "
                        "its state is lost.")
                    break
            try:
                msg = self.client.get_iopub_msg(timeout=0.05)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if out.take(msg):
                break
        if result.status == "ok" and stopping is not None:
            result.status, result.error = stopping, _stop_message(stopping, limits, killed=False)
        elif result.status == "ok" and out.error:
            result.status, result.error = "error", out.error
        snapshot = self._snapshot(msg_id) if result.status in ("ok", "error", "timeout",
                                                                "cancelled") else None
        result.logs = out.text(result.error if result.status != "error" else None)
        result.images = out.images
        result.duration_ms = (time.monotonic() - start) * 1000
        return result, snapshot

    def _snapshot(self, msg_id: str) -> dict[str, Any] | None:
        try:
            reply = self.client.get_shell_msg(timeout=5)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = self.client.get_shell_msg(timeout=5)
            expr = reply["content"].get("user_expressions", {}).get("files")
            if not expr:
                reply = self.client.execute("", silent=True, user_expressions={"files": SNAPSHOT},
                                            reply=True, timeout=5)
                expr = reply["content"].get("user_expressions", {}).get("files")
            if not expr or expr.get("status") != "ok":
                return None
            return dict(json.loads(ast.literal_eval(expr["data"]["text/plain"])))
        except (Empty, TimeoutError, ValueError, SyntaxError, KeyError):
            return None


def _stop_message(reason: str, limits: Limits, *, killed: bool) -> str:
    what = (f"Execution timed out after {limits.timeout:g} s" if reason == "timeout"
            else "Execution was cancelled")
    return what + (" and the session was reset (its state is lost)." if killed
                   else " and was interrupted.")


class _Collector:
    """Gathers a cell's iopub messages within the output caps."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False
        self.images: list[bytes] = []
        self.error: str | None = None

    def _add(self, text: str) -> None:
        room = self.limits.max_output - self.size
        if room <= 0:
            self.truncated = True
            return
        if len(text) > room:
            text, self.truncated = text[:room], True
        self.parts.append(text)
        self.size += len(text)

    def take(self, msg: dict[str, Any]) -> bool:
        """Account one message; True when the cell is finished (kernel idle)."""
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            self._add(content.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            data = content.get("data", {})
            if "image/png" in data and len(self.images) < self.limits.max_images:
                self.images.append(base64.b64decode(data["image/png"]))
            elif "text/plain" in data:
                self._add(str(data["text/plain"]) + "\n")
        elif kind == "error":
            trace = ANSI.sub("", "\n".join(content.get("traceback", [])))
            self.error = f"{content.get('ename')}: {content.get('evalue')}"
            self._add(trace + "\n")
        elif kind == "status" and content.get("execution_state") == "idle":
            return True
        return False

    def text(self, note: str | None) -> str:
        """The logs, with a note on truncation or on why the cell stopped."""
        text = "".join(self.parts)
        if self.truncated:
            text += f"\n[output truncated at {self.limits.max_output} characters]"
        if note:
            text += ("\n" if text else "") + note
        return text
