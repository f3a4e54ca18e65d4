"""Which run edges this process performed, for the test suite's "every edge exercised" check.

Off unless ORCH_EDGE_LOG names a directory: then each process appends `from to performer`
lines to a file of its own there (tests/conftest.py sets it and reads them at the end).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "ORCH_EDGE_LOG"


def record(source: str, target: str, performer: str) -> None:
    """Note one performed edge, if recording is on."""
    folder = os.environ.get(ENV)
    if not folder:
        return
    with open(Path(folder) / f"{os.getpid()}.edges", "a", encoding="utf-8") as f:
        f.write(f"{source} {target} {performer}\n")


def read(folder: Path) -> set[tuple[str, str, str]]:
    """Every (from, to, performer) recorded under `folder` by any process."""
    seen: set[tuple[str, str, str]] = set()
    for path in folder.glob("*.edges"):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3:
                seen.add((parts[0], parts[1], parts[2]))
    return seen
