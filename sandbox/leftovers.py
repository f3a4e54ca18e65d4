"""What a cell leaves running in its container: counted from the engine (`docker top`), killed
by the container's init (sandbox/init.py, on SIGUSR1) while the kernel and its state stay."""

from __future__ import annotations

import time

from docker.models.containers import Container

EXPECTED = 2  # the init and the kernel


def count(container: Container) -> int:
    """Processes running in the container besides its init and the kernel (zombies aside)."""
    rows = container.top(ps_args="-o pid,stat").get("Processes") or []
    return sum(1 for row in rows if not row[1].startswith("Z")) - EXPECTED


def stop(container: Container, timeout: float = 5.0) -> int:
    """Kill every leftover process; how many there were. RuntimeError when some survive."""
    found = count(container)
    if found <= 0:
        return 0
    container.kill(signal="SIGUSR1")
    deadline = time.monotonic() + timeout
    while count(container) > 0:
        if time.monotonic() > deadline:
            raise RuntimeError("processes survived the sweep")
        time.sleep(0.05)
    return found


def note(stopped: int) -> str:
    """The line the step's logs get about it."""
    return (f"[{stopped} process{'es' if stopped > 1 else ''} the code left running "
            f"{'were' if stopped > 1 else 'was'} stopped when the call ended.]")
