"""The transition table against the code: every status write is a listed edge moved by a
listed performer, every performer exists, and docs/architecture.md shows the current table."""

from __future__ import annotations

import ast
import importlib

import pytest

from orchestrator.engine import diagram
from orchestrator.engine.cas import move
from orchestrator.engine.status import RunStatus
from orchestrator.engine.transitions import EDGES, NEW_RUN, IllegalTransition, performers_of
from orchestrator.models import RunRecord
from tests.support.source import functions, modules

CAS = "orchestrator.engine.cas"
TARGET_ARG = {"move": 2, "move_id": 3}  # where the target status sits among the arguments


def _imported_from_cas(tree: ast.Module) -> set[str]:
    return {a.asname or a.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == CAS for a in node.names}


def _status(node: ast.expr) -> RunStatus:
    assert isinstance(node, ast.Attribute) and node.attr in RunStatus.__members__, (
        f"line {node.lineno}: a move's target must be spelled RunStatus.X")
    return RunStatus[node.attr]


def status_writes() -> list[tuple[str, str, ast.Call]]:
    """(performer, helper, call) of every move()/move_id()/cas() call outside cas.py."""
    found = []
    for mod in modules():
        if mod.name == CAS:
            continue
        names = _imported_from_cas(mod.tree) & {"move", "move_id", "cas"}
        if not names:
            continue
        for qualname, fn in functions(mod.tree):
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                        node.func.id in names):
                    found.append((f"{mod.name}.{qualname}", node.func.id, node))
    return found


def test_every_move_is_by_a_performer_listed_for_its_target() -> None:
    moves = [(p, h, c) for p, h, c in status_writes() if h in TARGET_ARG]
    assert moves, "no move() calls found: the scan is broken"
    for performer, helper, call in moves:
        target = _status(call.args[TARGET_ARG[helper]])
        assert performer in performers_of(target), (
            f"{performer} moves runs to {target.value}, but the table does not list it")


def test_no_raw_status_write_outside_cas() -> None:
    for performer, helper, call in status_writes():
        if helper == "cas":
            changes = call.args[2]
            keys = [k.value for k in getattr(changes, "keys", []) if isinstance(k, ast.Constant)]
            assert "status" not in keys, f"{performer} writes a status with cas(): use move()"
    for mod in modules():
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                    node.func.attr == "values") and mod.name != CAS and _updates_runs(node):
                assert "status" not in {k.arg for k in node.keywords}, (
                    f"{mod.name}:{node.lineno} writes a run's status in an UPDATE: use move()")


def _updates_runs(values: ast.Call) -> bool:
    """Whether `….values(…)` belongs to an `update(RunRecord)` / `update(RUNS)` chain."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "update"
               and n.args and isinstance(n.args[0], ast.Name)
               and n.args[0].id in ("RunRecord", "RUNS") for n in ast.walk(values.func))


def test_every_listed_performer_exists_and_moves_runs() -> None:
    callers = {p for p, h, _ in status_writes() if h in TARGET_ARG}
    for performer in {p for e in EDGES for p in e.performers} | {NEW_RUN}:
        module, name = performer.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name, None)), performer
        if performer != NEW_RUN:  # new_run inserts the run; it moves nothing
            assert performer in callers, f"{performer} is listed but never calls move()"


def test_an_unlisted_caller_cannot_move_a_run() -> None:
    run = RunRecord(id="run_x", status=RunStatus.QUEUED.value, version=1)
    with pytest.raises(IllegalTransition, match="not a listed performer"):
        move(None, run, RunStatus.IN_PROGRESS)  # type: ignore[arg-type]  # raises before I/O
    with pytest.raises(IllegalTransition):
        move(None, run, RunStatus.COMPLETED)  # type: ignore[arg-type]  # not an edge at all


def test_the_diagram_in_the_docs_is_current() -> None:
    text = diagram.DOC.read_text(encoding="utf-8")
    assert diagram.section() in text, (
        "docs/architecture.md shows an old lifecycle: "
        "run `.venv/bin/python -m orchestrator.engine.diagram --write`")


def test_the_diagram_draws_every_edge_with_its_performers() -> None:
    drawn = diagram.mermaid()
    for e in EDGES:
        line = next(x for x in drawn.splitlines()
                    if x.strip().startswith(f"{e.source.value} --> {e.target.value}:"))
        for performer in e.performers:
            assert diagram.short(performer) in line
