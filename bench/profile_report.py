"""Read a py-spy raw profile (`--format raw`): the functions that hold the most samples.

    python -m bench.profile_report FILE [--top N] [--match TEXT]

Prints each function's share of the samples inclusive (on the stack) and exclusive (the
innermost frame), as `function (file)`; `--match` keeps only functions whose name or file
contains TEXT (e.g. `orchestrator/` for our own code).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

# py-spy frames look like "name (path/to/file.py:123)"; the line number is dropped.
FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def _key(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/lib/python3", "/work/", "/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['name']} ({path})"


def summarise(text: str) -> tuple[int, Counter[str], Counter[str]]:
    """Total samples, inclusive and exclusive samples per function."""
    total, inclusive, exclusive = 0, Counter[str](), Counter[str]()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_key(f) for f in stack.split(";")]
        total += n
        for key in set(frames[1:] if frames[0].startswith(("process ", "thread ")) else frames):
            inclusive[key] += n
        exclusive[frames[-1]] += n
    return total, inclusive, exclusive


def main(argv: list[str] | None = None) -> int:
    """Print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="")
    args = parser.parse_args(argv)
    total, inclusive, exclusive = summarise(args.file.read_text(errors="replace"))
    print(f"{total} samples")
    for title, counts in (("inclusive", inclusive), ("exclusive", exclusive)):
        print(f"-- {title}")
        rows = [(k, v) for k, v in counts.most_common() if args.match in k][:args.top]
        for key, n in rows:
            print(f"{100 * n / max(total, 1):6.1f} %  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
