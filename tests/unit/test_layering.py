"""The rooms' import rules (DESIGN.md, Architecture) checked on the source with `ast`, the CLI's import-time promise
checked in fresh interpreters, and the ~500-line file size. Each failure names the file, the line and the import."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# source folder -> the package it installs as (pyproject.toml, [tool.setuptools.package-dir])
PACKAGES = {"console": "lgconsole.console", "stack": "lgconsole.stack", "widgets": "lgconsole.widgets"}
MAX_LINES = 500
LONG_FILES_ALLOWED = {"console/model/graph_layout.py"}  # the layout algorithm, one piece by design


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it is, and whether it runs when its module is imported."""

    importer: str  # dotted module name of the file holding the statement
    path: str  # repo-relative file path
    line: int
    source: str  # the statement's text, for failure messages
    target: str  # dotted name imported (for `from a import b`: "a.b" when b is a name, see targets())
    names: tuple[str, ...]  # `from a import b, c`: ("b", "c"); () for `import a`
    at_import_time: bool  # module level and not under `if TYPE_CHECKING:`

    def targets(self) -> list[str]:
        """The dotted names this statement may load: `from a import b` may load the module a.b."""
        return [self.target, *(f"{self.target}.{name}" for name in self.names if name != "*")]

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.source}"


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO)
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:]]
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports_of(path: Path) -> list[Import]:
    text = path.read_text()
    lines = text.splitlines()
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, at_import_time: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                source = " ".join(line.strip() for line in lines[child.lineno - 1:child.end_lineno])
                common = dict(importer=module, path=str(path.relative_to(REPO)), line=child.lineno, source=source,
                              at_import_time=at_import_time)
                if isinstance(child, ast.Import):
                    found.extend(Import(target=alias.name, names=(), **common) for alias in child.names)
                else:
                    base = child.module or ""
                    if child.level:  # relative: resolve against this module's package
                        anchor = package.split(".")
                        anchor = anchor[:len(anchor) - (child.level - 1)]
                        base = ".".join([*anchor, base] if base else anchor)
                    found.append(Import(target=base, names=tuple(a.name for a in child.names), **common))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), False)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), at_import_time)
            else:
                visit(child, at_import_time)

    visit(ast.parse(text, filename=str(path)), True)
    return found


def _source_files(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


ALL_IMPORTS = [imp for folder in PACKAGES for path in _source_files(folder) for imp in _imports_of(path)]


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(room: str, forbidden: tuple[str, ...], import_time_only: bool = False) -> list[str]:
    """Every import in `room` (a dotted package) that loads one of `forbidden`, as `path:line: statement -> what`."""
    out = []
    for imp in ALL_IMPORTS:
        if not _matches(imp.importer, room) or (import_time_only and not imp.at_import_time):
            continue
        hits = sorted({f for f in forbidden for t in imp.targets() if _matches(t, f)})
        if hits:
            out.append(f"{imp.where()}  -> {', '.join(hits)}")
    return out


def test_the_source_walk_sees_imports_inside_functions_and_type_checking_blocks():
    lazy = [i for i in ALL_IMPORTS if i.path == "console/cli/main.py" and not i.at_import_time]
    assert any(_matches(i.target, "lgconsole.console.app") for i in lazy)  # cmd_console's import of the app
    assert any(i.path == "console/cli/gpu.py" and not i.at_import_time for i in ALL_IMPORTS)  # TYPE_CHECKING


RULES = {
    "widgets: pure presentation, never console/ or stack/":
        ("lgconsole.widgets", ("lgconsole.stack", "lgconsole.console")),
    "stack: services only, never Textual, console/ or widgets/":
        ("lgconsole.stack", ("textual", "lgconsole.console", "lgconsole.widgets")),
    "console/model: plain Python, no UI, no stack, no network clients":
        ("lgconsole.console.model", ("textual", "rich", "lgconsole.stack", "psycopg", "httpx", "langgraph_sdk")),
    "console/sources: no Textual": ("lgconsole.console.sources", ("textual",)),
}
ALL_MODULES = {_module_name(p) for folder in PACKAGES for p in _source_files(folder)}


def _import_time_graph() -> dict[str, dict[str, Import]]:
    """lgconsole module -> {what its import-time statements load: an lgconsole module or a dotted outside name}."""
    graph: dict[str, dict[str, Import]] = {m: {} for m in ALL_MODULES}
    for imp in ALL_IMPORTS:
        if not imp.at_import_time:
            continue
        # `from pkg import mod` loads pkg.mod; `from pkg.mod import name` loads pkg.mod
        inside = next((t for t in reversed(imp.targets()) if t in ALL_MODULES), None)
        target = inside or imp.target
        if target != imp.importer:
            graph[imp.importer].setdefault(target, imp)
    return graph


IMPORT_TIME = _import_time_graph()


def _chains(room: str, forbidden: tuple[str, ...]) -> list[str]:
    """For each module of `room` that loads a forbidden name through other lgconsole modules when it is imported,
    the shortest chain of statements that does it (a direct import is reported by _violations)."""
    out = []
    for start in sorted(m for m in ALL_MODULES if _matches(m, room)):
        came_from: dict[str, tuple[str, Import]] = {}
        frontier, seen = [start], {start}
        hit = None
        while frontier and hit is None:
            nxt_frontier = []
            for node in frontier:
                for target, imp in sorted(IMPORT_TIME.get(node, {}).items()):
                    if target in seen:
                        continue
                    seen.add(target)
                    came_from[target] = (node, imp)
                    if any(_matches(target, f) for f in forbidden):
                        hit = hit or target
                    elif target in ALL_MODULES:
                        nxt_frontier.append(target)
            frontier = nxt_frontier
        if hit is None or came_from[hit][0] == start:
            continue
        steps, node = [], hit
        while node != start:
            node, imp = came_from[node]
            steps.append(imp.where())
        out.append(f"{start} loads {hit} when imported:\n      " + "\n      ".join(reversed(steps)))
    return out


@pytest.mark.parametrize("rule", RULES)
def test_room_imports(rule):
    """Direct imports anywhere in the room's files, and what they load at import time through other modules."""
    room, forbidden = RULES[rule]
    bad = _violations(room, forbidden) + _chains(room, forbidden)
    assert not bad, f"{rule}: {len(bad)} import(s) break it:\n  " + "\n  ".join(bad)


def test_cli_loads_no_textual_or_rich_at_import_time():
    room, forbidden = "lgconsole.console.cli", ("textual", "rich")
    bad = _violations(room, forbidden, import_time_only=True) + _chains(room, forbidden)
    assert not bad, ("console/cli must import Textual/Rich inside the command that draws, not at module level:\n  "
                     + "\n  ".join(bad))


def _console_import_graph() -> dict[str, dict[str, Import]]:
    """lgconsole.console module -> {console module it imports at import time: the statement}."""
    console = {m for m in ALL_MODULES if _matches(m, "lgconsole.console")}
    return {m: {t: imp for t, imp in IMPORT_TIME[m].items() if t in console} for m in sorted(console)}


def _cycles(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a closed path through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)

    def path_through(component: list[str]) -> list[str]:
        """A closed walk from the component's first module back to it (breadth-first inside the component)."""
        start, members = component[0], set(component)
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier:
            nxt_frontier = []
            for node in frontier:
                for nxt in sorted(graph[node]):
                    if nxt == start:
                        walk = [start, node]
                        while walk[-1] != start:
                            walk.append(previous[walk[-1]])
                        return list(reversed(walk[1:])) + [start] if node != start else [start, start]
                    if nxt in members and nxt not in previous:
                        previous[nxt] = node
                        nxt_frontier.append(nxt)
            frontier = nxt_frontier
        return component

    return [path_through(c) for c in components]


def test_no_import_cycle_between_console_modules():
    graph = _console_import_graph()
    assert graph["lgconsole.console.cli.main"], "the graph should see cli.main's imports"
    cycles = _cycles(graph)
    lines = []
    for walk in cycles:
        lines.append(" -> ".join(walk))
        lines.extend(f"    {graph[a][b].where()}" for a, b in zip(walk, walk[1:]))
    assert not cycles, f"{len(cycles)} import cycle(s) between console modules:\n  " + "\n  ".join(lines)


def test_cycle_finder_on_a_small_graph():
    stmt = Import("a", "a.py", 1, "import b", "b", (), True)
    graph = {"a": {"b": stmt}, "b": {"c": stmt}, "c": {"a": stmt}, "d": {"a": stmt}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b": stmt}, "b": {}}) == []


# --- what a CLI command loads, in a fresh interpreter --------------------------------------------------------------

# Runs one command and writes what it loaded from textual/rich, and the lgconsole frames that first imported each of
# them, to the JSON file named by argv[1]. A failing command (no stack here) is fine; an ImportError is not.
RUNNER = r"""
import json, sys, traceback

UI = ("textual", "rich")
first_import = {}

class WhoImports:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in UI and top not in first_import:
            first_import[top] = [f"{f.filename}:{f.lineno}: {(f.line or '').strip()}"
                                 for f in traceback.extract_stack()[:-1]
                                 if not f.filename.startswith("<frozen")][-4:]
        return None

sys.meta_path.insert(0, WhoImports())
out, argv = sys.argv[1], sys.argv[2:]
error = None
try:
    from lgconsole.console.cli.main import main
    main(argv)
except ImportError as exc:
    error = f"{type(exc).__name__}: {exc}"
except BaseException:  # no stack in this test: commands may fail, what they imported is the point
    pass
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in UI)
json.dump({"loaded": loaded, "first_import": first_import, "import_error": error}, open(out, "w"))
"""

CLI_COMMANDS = {
    "status": ["status"],
    "threads": ["threads"],
    "history": ["history", "no-such-thread"],
    "diff": ["diff", "no-such-thread", "aaaa", "bbbb"],
    "doctor": ["doctor"],
    "gpu": ["gpu", "--window", "0"],
    "redis": ["redis", "keys"],
    "contexts": ["contexts"],
}


@pytest.mark.parametrize("command", CLI_COMMANDS)
def test_cli_command_loads_no_textual_or_rich(command, tmp_path):
    out = tmp_path / "loaded.json"
    state = tmp_path / "state"
    # an empty state dir and config home: nothing to talk to, so the command fails fast on its first read
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "xstate"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(out), "--state-dir", str(state), *CLI_COMMANDS[command]],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.exists(), f"the runner did not finish (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
    result = json.loads(out.read_text())
    assert result["import_error"] is None, f"`lgconsole {command}` cannot import its own code: {result['import_error']}"
    roots = sorted({m.partition(".")[0] for m in result["loaded"]})
    detail = "\n".join(f"  first import of {top} from:\n    " + "\n    ".join(result["first_import"].get(top, ["?"]))
                       for top in roots)
    assert not roots, (f"`lgconsole {command}` loaded {len(result['loaded'])} module(s) of {', '.join(roots)}; "
                       f"it should draw nothing:\n{detail}")


# --- file size ----------------------------------------------------------------------------------------------------

def test_no_source_file_over_500_lines():
    long = []
    for folder in PACKAGES:
        for path in _source_files(folder):
            rel = str(path.relative_to(REPO))
            count = len(path.read_text().splitlines())
            if count > MAX_LINES and rel not in LONG_FILES_ALLOWED:
                long.append(f"{rel}: {count} lines")
    assert not long, f"files over {MAX_LINES} lines (split them by job):\n  " + "\n  ".join(long)


# --- test tiers ---------------------------------------------------------------------------------------------------

SLOW_MARKS = {"integration", "vllm"}  # tests that start real services


def _slow_marks(node: ast.AST, aliases: set[str]) -> set[str]:
    """integration/vllm marks in a decorator or a pytestmark value: pytest.mark.X, pytest.mark.X(...), an alias."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in SLOW_MARKS:
            found.add(sub.attr)
        elif isinstance(sub, ast.Name) and sub.id in aliases:
            found.add(sub.id)
    return found


def _tests_and_marks(path: Path) -> list[tuple[str, bool]]:
    """(test name, marked integration/vllm) for each test function of a test module, read from its source."""
    tree = ast.parse(path.read_text())
    aliases, module_marked = set(), False
    for node in tree.body:
        if isinstance(node, ast.Assign) and _slow_marks(node.value, set()):
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            if "pytestmark" in names:
                module_marked = True
            aliases |= names - {"pytestmark"}
    out = []
    for node in tree.body:
        functions = [node] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
        class_marked = False
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            class_marked = any(_slow_marks(d, aliases) for d in node.decorator_list)
            functions = [f for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for fn in functions:
            if fn.name.startswith("test"):
                marked = module_marked or class_marked or any(_slow_marks(d, aliases) for d in fn.decorator_list)
                out.append((fn.name, marked))
    return out


def test_the_tier_reader_sees_module_marks_aliases_and_decorators(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text("import pytest\nslow = pytest.mark.integration\n\n@slow\ndef test_a(): pass\n\n"
                      "@pytest.mark.vllm\nasync def test_b(): pass\n\ndef test_c(): pass\n")
    assert _tests_and_marks(sample) == [("test_a", True), ("test_b", True), ("test_c", False)]
    sample.write_text("import pytest\npytestmark = [pytest.mark.integration]\n\ndef test_a(): pass\n")
    assert _tests_and_marks(sample) == [("test_a", True)]


def test_each_test_file_is_one_tier():
    """tests/integration holds only tests marked integration or vllm (`make test-fast` deselects them); tests/unit
    and tests/screens hold none."""
    misplaced = []
    for tier in ("unit", "screens", "integration"):
        for path in sorted((REPO / "tests" / tier).glob("test_*.py")):
            for name, marked in _tests_and_marks(path):
                if marked != (tier == "integration"):
                    where = "tests/integration" if marked else "tests/unit or tests/screens"
                    misplaced.append(f"{path.relative_to(REPO)}::{name} belongs in {where}")
    assert not misplaced, "tests in the wrong tier folder:\n  " + "\n  ".join(misplaced)


def test_benchmarks_are_not_collected_as_tests():
    import tomllib

    ini = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "bench" in ini["norecursedirs"], "tests/bench must stay out of collection (pyproject norecursedirs)"
    named_like_tests = [p.name for p in (REPO / "tests" / "bench").rglob("*.py")
                        if p.name.startswith("test_") or p.name.endswith("_test.py")]
    assert not named_like_tests, f"benchmarks named like tests: {named_like_tests}"
