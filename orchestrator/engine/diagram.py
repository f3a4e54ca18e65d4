"""The run lifecycle as a mermaid stateDiagram-v2, drawn from the transition table.

`python -m orchestrator.engine.diagram --write` refreshes its section of docs/architecture.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestrator.engine.status import TERMINAL, RunStatus
from orchestrator.engine.transitions import EDGES, NEW_RUN

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
BEGIN, END = "<!-- lifecycle:begin -->", "<!-- lifecycle:end -->"


def short(performer: str) -> str:
    """A performer's name without its module path (execution.claim -> claim)."""
    return performer.rsplit(".", 1)[-1]


def mermaid() -> str:
    """The table as a mermaid state diagram, each edge labelled by the functions moving it."""
    lines = ["stateDiagram-v2", f"    [*] --> {RunStatus.QUEUED.value}: {short(NEW_RUN)}"]
    for e in EDGES:
        label = ", ".join(short(p) for p in e.performers) or "(no performer)"
        if e.performers and not e.reachable:
            label += " (stale attempt only)"
        lines.append(f"    {e.source.value} --> {e.target.value}: {label}")
    lines += [f"    {s.value} --> [*]" for s in RunStatus if s in TERMINAL]
    return "\n".join(lines) + "\n"


def section() -> str:
    """The docs section between the markers: the diagram in a mermaid code block."""
    return f"{BEGIN}\n```mermaid\n{mermaid()}```\n{END}"


def refreshed(text: str) -> str:
    """`text` with its lifecycle section replaced by the current one."""
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    return head + section() + tail


def main(argv: list[str]) -> int:
    """Print the diagram, or with --write refresh docs/architecture.md."""
    if argv[1:] == ["--write"]:
        DOC.write_text(refreshed(DOC.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    sys.stdout.write(mermaid())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
