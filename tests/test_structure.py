"""The package's shape: no import cycles, small modules, the task kind asked of its object (never branched on
by name outside src/kinds/ and the config loader), and every module importable."""
import ast
import re
import subprocess
import sys

from conftest import ROOT

SRC = ROOT / "src"
MAX_LINES = 300


def modules():
    """{dotted name: path} of every module of the package (a package is its __init__.py)."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = ("src",) + path.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(name, path, known):
    """The package modules that ``name`` imports (anywhere in the file, relative or absolute)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:                     # `from . import config`: the name is a module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in known and m != name}


def test_no_import_cycles():
    known = modules()
    graph = {m: imports_of(m, p, known) for m, p in known.items()}
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
    # the graph is real: the commands reach the kinds through it
    assert "src.kinds" in graph["src.training"] and "src.inference" in graph["src.test_cmd"]


def test_modules_are_small():
    long = {str(p.relative_to(ROOT)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_kind_is_asked_never_branched_on_by_name():
    pattern = re.compile(r'kind\(cfg\) ==|get\("kind"\)|\["kind"\] ==|kind == "(binary|multiclass|segmentation)"')
    allowed = {SRC / "config.py"} | set((SRC / "kinds").glob("*.py"))
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in list(SRC.rglob("*.py")) + [ROOT / f for f in
            ("train.py", "test.py", "evaluate.py")] if p not in allowed
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert not hits, f"branches on the kind's name outside src/kinds/: {hits}"


def test_every_module_imports_in_a_fresh_interpreter():
    names = sorted(modules())
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    proc = subprocess.run([sys.executable, "-c", code, *names], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_shipped_core_imports_no_developer_tool():
    known = modules()
    core = {m: p for m, p in known.items() if not m.startswith("src.tools")}
    leaks = {m: sorted(n for n in imports_of(m, p, known) if n.startswith("src.tools")) for m, p in core.items()}
    assert not {m: v for m, v in leaks.items() if v}, leaks
