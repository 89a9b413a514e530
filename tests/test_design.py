"""The shape of the code a newcomer can hold in their head: imports go one way (pipelines -> assets ->
schemas -> hepwatch), no module imports itself back through others, no module is over 400 lines, and SQL
longer than three lines lives in a `.sql` file, not in a Python string.

Imports are read with `ast`, function-level ones included: a lazy import is still a dependency. An import
under `if TYPE_CHECKING:` counts for the direction of imports but not as a cycle: it never runs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("hepwatch", "assets", "pipelines", "schemas")
# what each package may import from the project (itself included): the domain knows no orchestration
ALLOWED = {
    "hepwatch": {"hepwatch"},
    "schemas": {"schemas", "hepwatch"},
    "assets": {"assets", "schemas", "hepwatch"},
    "pipelines": {"pipelines", "assets", "schemas", "hepwatch"},
}
MAX_LINES = 400
MAX_SQL_LINES = 3
SQL = re.compile(r"\b(SELECT|INSERT|CREATE|DELETE|UPDATE|WITH)\b.*\bFROM\b", re.DOTALL)


def _module_files() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its own name)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((PROJECT / package).rglob("*.py")):
            parts = list(path.relative_to(PROJECT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = _module_files()


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of the nodes inside `if TYPE_CHECKING:` blocks."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }


def _imports(module: str, path: Path, runtime_only: bool = False) -> Iterator[tuple[str, int]]:
    """The project modules a module imports, anywhere in it, with the line of each import; with
    `runtime_only`, less those under `if TYPE_CHECKING:`."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _type_checking_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up `level - 1` more
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield (submodule if submodule in MODULES else base), node.lineno


def _graph() -> dict[str, set[str]]:
    return {
        module: {
            name
            for name, _ in _imports(module, path, runtime_only=True)
            if name in MODULES and name != module
        }
        for module, path in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checkers_see_what_they_look_for(tmp_path):
    path = tmp_path / "example.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from hepwatch.pending import mark\n"
        "def f():\n    from hepwatch.stage import STAGED\n    from . import warehouse\n"
    )
    found = {"typing", "hepwatch.pending", "hepwatch.stage", "hepwatch.warehouse"}
    assert {name for name, _ in _imports("hepwatch.example", path)} == found
    runtime = {name for name, _ in _imports("hepwatch.example", path, runtime_only=True)}
    assert runtime == found - {"hepwatch.pending"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = 'Q = """\nSELECT a\nFROM t\nWHERE b\n"""\nS = "SELECT a FROM t"\nF = (\n    f"SELECT {1} "\n    "FROM t "\n    "WHERE b "\n    "LIMIT 1"\n)\n'
    assert _long_sql(source) == [1, 8]


def test_imports_go_one_way():
    wrong = [
        f"{path.relative_to(PROJECT)}:{line} imports {name}"
        for module, path in MODULES.items()
        for name, line in _imports(module, path)
        if name.split(".")[0] in PACKAGES and name.split(".")[0] not in ALLOWED[module.split(".")[0]]
    ]
    assert wrong == []


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_no_module_outside_tests_and_bench_is_over_400_lines():
    long = {}
    for path in sorted(PROJECT.rglob("*.py")):
        parts = path.relative_to(PROJECT).parts
        if parts[0] in ("tests", "bench") or any(part.startswith(".") for part in parts):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long[str(path.relative_to(PROJECT))] = lines
    assert long == {}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of string expressions that stand alone as statements (docstrings)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.JoinedStr)
    }


def _long_sql(source: str) -> list[int]:
    """The first lines of the strings (f-strings and implicit concatenations included, docstrings not) that
    hold SQL and span more than MAX_SQL_LINES lines."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inside_fstrings = {
        id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings:
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = ast.get_source_segment(source, node) or ""
        else:
            continue
        if (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_SQL_LINES and SQL.search(text):
            found.append(node.lineno)
    return sorted(found)


def test_no_sql_over_three_lines_in_a_python_string():
    found = [
        f"{path.relative_to(PROJECT)}:{line}"
        for path in MODULES.values()
        for line in _long_sql(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def _environment_reads(source: str) -> list[int]:
    """The lines that read or write the process environment (`os.environ`, `os.getenv`, ...)."""
    names = {"environ", "environb", "getenv", "putenv", "unsetenv"}
    attributes = [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in names and ast.unparse(node.value) == "os"
    ]
    imported = [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module == "os" and {a.name for a in node.names} & names
    ]
    return sorted(attributes + imported)


def test_only_the_settings_module_reads_the_environment():
    assert _environment_reads("import os\nA = os.environ.get('X')\nfrom os import getenv\n") == [2, 3]
    settings_module = PROJECT / "hepwatch" / "settings.py"
    found = [
        f"{path.relative_to(PROJECT)}:{line}"
        for path in MODULES.values()
        if path != settings_module
        for line in _environment_reads(path.read_text(encoding="utf-8"))
    ]
    assert found == []
