"""PID 1 inside a sandbox: runs the kernel, reaps orphans, kills what cells leave behind.

Copied into the container's kernel folder and started as `python3 init.py <kernel argv>`
(standard library only: it runs on the image's Python). Signals from the worker:
SIGINT/SIGTERM/SIGHUP go on to the kernel; SIGUSR1 kills every process but this one and
the kernel (a cell's background jobs, daemons, fork-bomb leftovers), so the session's
variables survive and an idle session costs no CPU. The code cannot kill PID 1 of its
namespace, and it exits when the kernel does (the container stops with it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
HANDLED = {*FORWARDED, signal.SIGCHLD, signal.SIGUSR1}


def _state(pid: int) -> str:
    """The process state letter (R, S, Z, ...), '' when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return ""


def _reap(kernel: int) -> int | None:
    """Collect every exited child; the kernel's exit code when it was among them."""
    code = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return code
        if pid == 0:
            return code
        if pid == kernel:
            code = os.waitstatus_to_exitcode(status)


def sweep(kernel: int) -> int | None:
    """SIGKILL everything but us and the kernel until nothing else runs (zombies aside)."""
    keep = {os.getpid(), kernel}
    for _ in range(200):
        live = [pid for pid in (int(n) for n in os.listdir("/proc") if n.isdigit())
                if pid not in keep and _state(pid) not in ("", "Z", "X")]
        if not live:
            break
        for pid in live:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        code = _reap(kernel)
        if code is not None:
            return code
        time.sleep(0.01)
    return _reap(kernel)


def main(argv: list[str]) -> int:
    """Start the kernel, then serve signals until it exits; its exit code."""
    for each in HANDLED:  # handled, so PID 1 is not deaf to them; blocked, so sigwait sees them
        signal.signal(each, lambda *_: None)
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    kernel = os.fork()
    if kernel == 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    while True:
        info = signal.sigtimedwait(HANDLED, 5.0)
        sig: int = info.si_signo if info is not None else signal.SIGCHLD
        if sig in FORWARDED:
            with contextlib.suppress(OSError):
                os.kill(kernel, sig)
            continue
        code = sweep(kernel) if sig == signal.SIGUSR1 else _reap(kernel)
        if code is not None:
            return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
