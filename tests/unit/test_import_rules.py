"""The import rules that import-linter cannot state: no module-level cycles (imports inside
functions included), every deferred import says why; and proof that `lint-imports` fails."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("orchestrator", "workers", "sandbox")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over the module graph: each component of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: the graph is deep enough to matter
        work: list[tuple[str, Iterator[str]]] = []

        def enter(module: str) -> None:
            index[module] = low[module] = len(index)
            stack.append(module)
            on_stack.add(module)
            work.append((module, iter(sorted(graph.find_modules_directly_imported_by(module)))))

        enter(start)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif target not in index:
                enter(target)
            elif target in on_stack:
                low[module] = min(low[module], index[target])

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    """A cycle's modules and the import lines that tie them together."""
    members = set(component)
    lines = [" <-> ".join(component)]
    for importer in component:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            for detail in graph.get_import_details(importer=importer, imported=imported):
                lines.append(f"    {importer}:{detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


def test_no_import_cycles_between_modules() -> None:
    """grimp reads every import statement, those inside functions included."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = [describe(graph, c) for c in strongly_connected(graph)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    """A two-module cycle made of imports inside functions is reported."""
    pkg = tmp_path / "cyclic"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from cyclic import b\n")
    (pkg / "b.py").write_text("def g():\n    from cyclic import a\n")
    (pkg / "c.py").write_text("from cyclic import a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("cyclic", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert strongly_connected(graph) == [["cyclic.a", "cyclic.b"]]


def function_level_imports(source: str) -> Iterator[int]:
    """Line numbers of import statements inside a function body."""
    def walk(node: ast.AST, in_function: bool) -> Iterator[int]:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                yield child.lineno
            yield from walk(child, in_function
                            or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))
    yield from walk(ast.parse(source), False)


def undeclared_deferred_imports(path: Path) -> list[str]:
    """Function-level imports with no `# deferred: <reason>` on their line or the one above."""
    source = path.read_text()
    lines = source.splitlines()
    bad = []
    for number in function_level_imports(source):
        line, above = lines[number - 1], lines[number - 2] if number > 1 else ""
        if "# deferred: " not in line and not above.strip().startswith("# deferred: "):
            bad.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return bad


def test_every_deferred_import_says_why() -> None:
    """An import inside a function hides a cycle or delays a heavy library: say which."""
    bad = [hit for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
           for hit in undeclared_deferred_imports(path)]
    assert not bad, "imports inside functions without '# deferred: <reason>':\n" + "\n".join(bad)


def test_the_deferred_scan_sees_imports_in_functions(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("import os\n\ndef f():\n    import json\n"
                    "    import csv  # deferred: a reason\n    # deferred: a reason\n"
                    "    import io\n")
    assert list(function_level_imports(path.read_text())) == [4, 5, 7]


def contract_modules() -> set[str]:
    """Every module the [tool.importlinter] contracts name, wildcards and externals aside."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    names: set[str] = set()
    for contract in config["contracts"]:
        for layer in contract.get("layers", []):
            names.update(m.strip() for m in layer.replace("|", ":").split(":"))
        names.update(contract.get("source_modules", []))
        names.update(contract.get("forbidden_modules", []))
        for ignored in contract.get("ignore_imports", []):
            names.update(m.strip() for m in ignored.split("->"))
        names.update(m.removesuffix(".*") for m in contract.get("modules", []))
    return {n for n in names if n.split(".")[0] in PACKAGES}


def write_tree(root: Path) -> None:
    """A minimal tree with every named module, importing only what the contracts allow."""
    for name in sorted(contract_modules() | {"orchestrator.engine.step",
                                             "orchestrator.faces.assistants.render"}):
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            package = root.joinpath(*parts[:depth])
            package.mkdir(exist_ok=True)
            (package / "__init__.py").touch()
    (root / "orchestrator/cli/__init__.py").write_text(
        "import workers.celery_app\nimport workers.processes\nimport workers.sandbox_worker\n")
    (root / "orchestrator/faces/assistants/render/__init__.py").write_text(
        "import orchestrator.engine.step\n")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the project's own config over the tree at `root`."""
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)


def test_lint_imports_fails_when_the_engine_imports_a_face(tmp_path: Path) -> None:
    """The contracts hold on a clean tree and break on one forbidden import."""
    write_tree(tmp_path)
    clean = lint_imports(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    (tmp_path / "orchestrator/engine/step/__init__.py").write_text(
        "def render():\n    import orchestrator.faces.assistants.render\n")
    broken = lint_imports(tmp_path)
    assert broken.returncode != 0
    assert "The engine imports no face, no HTTP, no listener, no worker BROKEN" in broken.stdout
    assert ("orchestrator.engine.step -> orchestrator.faces.assistants.render (l.2)"
            in broken.stdout), broken.stdout
