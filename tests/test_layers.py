"""The dependency graph is the one docs/architecture.md draws: layers, and no import cycles.

Layers, lowest first: the core library (``rabbit_rag`` minus the parts below) < ``rabbit_rag.ingest``
(the write path) < the applications of both (``rabbit_rag.api``, ``rabbit_rag.evaluation``,
``rabbit_rag.integrations``) < the CLI (``rabbit_rag.cli``). A module may import its own layer and the
layers below; applications do not import each other. Imports under ``if TYPE_CHECKING:`` are
annotations only and do not count for cycles.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("rabbit_rag.api", "rabbit_rag.evaluation", "rabbit_rag.integrations")


def _modules() -> dict[str, Path]:
    """Module name → file, following pyproject's package-dir mapping (ingest/ is rabbit_rag.ingest)."""
    mapping: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-dir"]
    out: dict[str, Path] = {}
    for top, folder in mapping.items():
        base = ROOT / folder
        for f in base.rglob("*.py"):
            rel = f.relative_to(base).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            name = ".".join((top, *parts))
            if any(
                name.startswith(other + ".") or name == other
                for other in mapping
                if other != top and other.startswith(top + ".")
            ):
                continue  # rabbit_rag/ingest would be mapped elsewhere; never the case on disk, but be exact
            out[name] = f
    return out


MODULES = _modules()


def layer(module: str) -> str:
    if module.startswith("rabbit_rag.cli") or module == "rabbit_rag.__main__":
        return "cli"
    for app in APPS:
        if module == app or module.startswith(app + "."):
            return app
    if module == "rabbit_rag.ingest" or module.startswith("rabbit_rag.ingest."):
        return "ingest"
    return "core"


ALLOWED = {
    "core": {"core"},
    "ingest": {"core", "ingest"},
    **{app: {"core", "ingest", app} for app in APPS},
    "cli": {"core", "ingest", *APPS, "cli"},
}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, modules: dict[str, Path] = MODULES) -> list[tuple[str, int, bool]]:
    """``(imported project module, line, at module level)`` of every import in ``module``, runtime ones
    only (``TYPE_CHECKING`` blocks skipped)."""
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    package = module if modules[module].name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub, top)
                continue
            if isinstance(child, ast.Import):
                for a in child.names:
                    if a.name.split(".")[0] == "rabbit_rag" and (target := _resolve(a.name, modules)):
                        out.append((target, child.lineno, top))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - child.level + 1] + ([base] if base else [])
                    )
                if base.split(".")[0] != "rabbit_rag":
                    continue
                for a in child.names:
                    full = f"{base}.{a.name}"
                    target = _resolve(full, modules) if full in modules else _resolve(base, modules)
                    if target:
                        out.append((target, child.lineno, top))
            else:
                nested = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                visit(child, top and not nested)

    visit(tree, True)
    return out


def layer_violations(modules: dict[str, Path]) -> list[str]:
    return [
        f"{modules[m]}:{line}: {m} ({layer(m)}) imports {t} ({layer(t)})"
        for m in sorted(modules)
        for t, line, _ in imports(m, modules)
        if layer(t) not in ALLOWED[layer(m)]
    ]


def find_cycle(modules: dict[str, Path]) -> list[str] | None:
    graph = {m: sorted({t for t, _, top in imports(m, modules) if top and t != m}) for m in modules}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in graph[m]:
            if state.get(t) == 1:
                return [*stack[stack.index(t) :], t]
            if t not in state and (cycle := dfs(t)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := dfs(m)):
            return cycle
    return None


def test_each_layer_imports_only_itself_and_the_layers_below() -> None:
    wrong = layer_violations(MODULES)
    assert not wrong, "imports that cross the layers upwards:\n" + "\n".join(wrong)


def test_the_module_graph_has_no_cycles() -> None:
    cycle = find_cycle(MODULES)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_report_an_upward_import_and_a_cycle(tmp_path: Path) -> None:
    files = {
        "rabbit_rag.index": "from rabbit_rag.api import app\n",  # core importing the API
        "rabbit_rag.api": "def f():\n    from rabbit_rag import index\n",  # allowed (and lazy)
        "rabbit_rag.text": "from rabbit_rag.engine import x\n",
        "rabbit_rag.engine": "import rabbit_rag.text\n",  # text <-> engine: a cycle
        "rabbit_rag.ok": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from rabbit_rag import engine\n",
    }
    modules = {}
    for name, code in files.items():
        f = tmp_path / (name.replace(".", "_") + ".py")
        f.write_text(code, encoding="utf-8")
        modules[name] = f
    wrong = layer_violations(modules)
    assert len(wrong) == 1 and "rabbit_rag.index (core) imports rabbit_rag.api (rabbit_rag.api)" in wrong[0]
    assert find_cycle(modules) in (
        ["rabbit_rag.engine", "rabbit_rag.text", "rabbit_rag.engine"],
        ["rabbit_rag.text", "rabbit_rag.engine", "rabbit_rag.text"],
    )
