"""engine/ and gui/ have no import cycles (issue 20: api/parts and api/catalogue imported
each other; the window's menus, Help, state and quit prompt imported MainWindow back for
their type hints, now each types the window by a Protocol of what it uses). The graph is
read from the source with ast, so an import inside a function or under
`if TYPE_CHECKING:` counts as much as one at the top: it is a cycle all the same, only
postponed. Each top package is read on its own: the engine never imports the GUI
(pyproject's import contracts), so no cycle can pass through both."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path, top: Path) -> str:
    """engine/api/requests/__init__.py under `top` (the folder above engine) ->
    engine.api.requests."""
    parts = path.relative_to(top).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path, top: Path = ROOT) -> dict[str, set[str]]:
    """module -> the modules of `package` it imports, anywhere in its source."""
    modules = {module_name(p, top): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        home = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    up = home.split(".")[: len(home.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                # `from engine.api import limits` imports the module engine.api.limits.
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    targets.add(candidate if candidate in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search (each reported once per back edge)."""
    found, state = [], dict.fromkeys(graph, 0)  # 0 new, 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state[nxt] == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif state[nxt] == 0:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions_and_type_checking_blocks(tmp_path):
    # The reader's own oracle: a made-up package whose two modules import each other,
    # one inside a function, the other under TYPE_CHECKING.
    package = tmp_path / "engine" / "api"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from engine.api import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .a import f\n"
    )
    graph = import_graph(package, tmp_path)
    assert graph == {
        "engine.api": set(),
        "engine.api.a": {"engine.api.b"},
        "engine.api.b": {"engine.api.a"},
    }
    assert cycles(graph) == [["engine.api.a", "engine.api.b", "engine.api.a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_is_read_from_the_real_packages():
    engine = import_graph(ROOT / "engine")
    assert "engine.api.parts" in engine and "engine.api.catalogue" in engine
    assert "engine.api.parts" in engine["engine.api.catalogue"]  # the catalogue lists parts
    gui = import_graph(ROOT / "gui")
    assert "gui.window_menus" in gui["gui.main_window"]
    assert "gui.help_menu" in gui["gui.window_menus"]


@pytest.mark.parametrize("package", ["engine", "gui"])
def test_no_import_cycles(package):
    assert cycles(import_graph(ROOT / package)) == []


def test_parts_never_import_the_catalogue():
    # Parts are pure data; where a model's file is belongs to the catalogue and the
    # engine's local checks.
    engine = import_graph(ROOT / "engine")
    assert "engine.api.catalogue" not in engine["engine.api.parts"]
