"""The package's shape: no module of casescraper imports itself in a circle.

Read from the source with `ast`, not by importing: every import counts, at module level
or inside a function (a lazy import hides a cycle from Python, not from a reader), of
`casescraper.x`, `from casescraper import x` (when x is a module) and relative forms.
A package's `__init__` is the module named like the package; importing a module below
it is not counted as importing the package (Python runs the `__init__` first, but a
package that gathers its modules' names is no circle). Imports under `if TYPE_CHECKING:`
count too: a circle that only type hints close is still two modules that need each other.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "casescraper"


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted name -> source file of every module below the package."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The package's modules one import statement names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in known]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:  # relative: from the module's package, one level up per extra dot
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = package[:len(package) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    # `from casescraper import report` names the module report; `from casescraper.tools.report
    # import build` names an attribute of casescraper.tools.report
    targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]
    return [t for t in targets if t in known]


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (itself excluded: `from . import x`
    inside a package's own __init__ names x, not the package)."""
    names = module_names(root)
    known = set(names)
    graph = {}
    for module, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        graph[module] = {target for node in _statements(tree)
                         for target in _imported(node, module, is_package, known)} - {module}
    return graph


def _statements(node: ast.AST):
    """Every node below `node` (under `if TYPE_CHECKING:` too)."""
    return ast.walk(node)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected group of modules (Tarjan), e.g.
    [a, b, a]; sorted, so that the message is stable."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v: str) -> None:  # the package is small: recursion depth is no concern
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(set(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(_circle(graph, group) for group in groups)


def _circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{sorted(group)} is not strongly connected")


def test_no_module_imports_itself_in_a_circle():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_scan_sees_imports_of_every_form(tmp_path):
    pkg = tmp_path / "casescraper"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from casescraper import b\n")
    (pkg / "b.py").write_text("def f():\n    from .sub import c\n")  # lazy and relative
    (pkg / "sub" / "__init__.py").write_text("from . import c\n")
    (pkg / "sub" / "c.py").write_text("import casescraper.a\nfrom ..d import x\n")
    (pkg / "d.py").write_text("import json\nfrom casescraper.errors import E\n"
                              "from typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from casescraper.a import A\n")
    graph = import_graph(pkg)
    assert graph == {"casescraper": set(), "casescraper.a": {"casescraper.b"},
                     "casescraper.b": {"casescraper.sub.c"}, "casescraper.sub": {"casescraper.sub.c"},
                     "casescraper.sub.c": {"casescraper.a", "casescraper.d"}, "casescraper.d": {"casescraper.a"}}
    assert cycles(graph) == [["casescraper.a", "casescraper.b", "casescraper.sub.c", "casescraper.a"]]
    assert cycles({"x": {"y"}, "y": set()}) == []


# What each room may load (docs/architecture.md). Every module of the package belongs to
# exactly one room, by the longest prefix below; importing it in a fresh interpreter must
# load none of the room's forbidden packages. A new module or folder outside every room
# fails the test until it is placed.
HEAVY = ("scrapy", "twisted", "selenium", "pyarrow", "redis")
ROOMS = {
    # what to ask next: pure sequencing
    "casescraper.frontier": HEAVY,
    # how to drive the site and the browser's lifecycle: Selenium, never Scrapy
    "casescraper.browser": ("scrapy", "twisted", "pyarrow", "redis"),
    # HTML and answers to a record; files, ledger, layout: pure
    "casescraper.record": HEAVY,
    "casescraper.store": HEAVY,
    # the readers of the output: no Scrapy, no browser (but the doctor, which drives one),
    # pyarrow only where tables are written
    "casescraper.tools": ("scrapy", "twisted", "selenium", "pyarrow", "redis"),
    "casescraper.tools.dataset": ("scrapy", "twisted", "selenium", "redis"),
    "casescraper.tools.datacard": ("scrapy", "twisted", "selenium", "redis"),
    "casescraper.tools.doctor": ("scrapy", "twisted", "pyarrow", "redis"),
    "casescraper.democourt": HEAVY,
    # many hosts, one job: the only room that may load redis (and only when a queue is used)
    "casescraper.queue": ("scrapy", "twisted", "selenium", "pyarrow"),
    # the Scrapy side, where Scrapy users look for it
    "casescraper.spiders": ("selenium", "pyarrow", "redis"),
    "casescraper.spiders.arguments": HEAVY,
    "casescraper.commands": ("pyarrow", "redis"),
    "casescraper.middlewares": ("pyarrow", "redis"),
    "casescraper.middleware_settings": ("scrapy", "twisted", "pyarrow", "redis"),
    "casescraper.pacing": ("selenium", "pyarrow", "redis"),
    "casescraper.pipelines": ("selenium", "pyarrow", "redis"),
    "casescraper.extensions": ("selenium", "pyarrow", "redis"),
    "casescraper.manifest": ("selenium", "pyarrow", "redis"),
    "casescraper.stopping": ("selenium", "pyarrow", "redis"),
    "casescraper.exporters": ("selenium", "pyarrow", "redis"),
    "casescraper.contracts": ("selenium", "pyarrow", "redis"),
    # the crawl process with hooks to watch it, for the tests' and benchmarks' runners
    "casescraper.harness": ("pyarrow", "redis"),
    # shared plain modules: settings, errors, items, signals' names, the command line
    "casescraper.settings": HEAVY,
    "casescraper.config": HEAVY,
    "casescraper.options": HEAVY,
    "casescraper.errors": HEAVY,
    "casescraper.items": HEAVY,
    "casescraper.signals": HEAVY,
    "casescraper.__main__": HEAVY,
    "casescraper": HEAVY,
}


def room_of(module: str) -> str:
    """The longest ROOMS prefix naming `module` (itself or a package above it)."""
    owners = [r for r in ROOMS if module == r or module.startswith(r + ".")]
    return max(owners, key=len) if owners else ""


def _loaded_by(modules: list[str], watched: tuple[str, ...]) -> dict[str, list[str]]:
    """Module -> the watched top-level packages importing it loads (one fresh interpreter,
    each module's imports undone before the next)."""
    script = ("import importlib, json, sys\n"
              f"watched, found = {list(watched)!r}, {{}}\n"
              f"for name in {modules!r}:\n"
              "    before = set(sys.modules)\n"
              "    importlib.import_module(name)\n"
              "    found[name] = sorted(w for w in watched if w in sys.modules)\n"
              "    for m in set(sys.modules) - before:\n"
              "        del sys.modules[m]\n"
              "print(json.dumps(found))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=PACKAGE.parent, check=True)
    return json.loads(done.stdout)


def test_every_module_belongs_to_a_room():
    assert [m for m in module_names() if not room_of(m)] == []


def test_each_room_loads_only_what_it_may():
    modules = sorted(module_names())
    loaded = _loaded_by(modules, HEAVY)
    wrong = {m: sorted(set(w) & set(ROOMS[room_of(m)])) for m, w in loaded.items()}
    assert {m: w for m, w in wrong.items() if w} == {}


def test_the_top_level_stays_small():
    """Folders show the plan: at most about 20 modules side by side at the top."""
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 20, sorted(top)
