"""The package's shape: the tree reads like the pipeline (the commands on top, stage packages below, each
importing only the packages its docstring allows, and no cycle), small modules, the task kind asked of its object
(never branched on by name outside src/tasks/ and the config loader), and every module importable."""
import ast
import re
import subprocess
import sys

from conftest import ROOT

SRC = ROOT / "src"
MAX_LINES = 300
MAX_TOP_MODULES = 8           # directly under src/: the commands and the notebook API
MAX_PACKAGE_MODULES = 12
ALLOWS = re.compile(r"^May import: (.*)$", re.M)


def modules():
    """{dotted name: path} of every module of the package (a package is its __init__.py)."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "__main__.py":          # runs a command when imported: not a module of the graph
            continue
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
    assert "src.tasks" in graph["src.training.fold"] and "src.inference.predict" in graph["src.predict_cmd"]


def package_of(module):
    """The stage package of a module ('src.tasks.binary' -> 'tasks'), 'tools' for any developer tool, '' for a
    module directly under src/ (a command)."""
    parts = module.split(".")
    return "tools" if parts[1:2] == ["tools"] else parts[1] if (SRC / parts[1]).is_dir() else ""


def allowed_imports():
    """{package: the packages its __init__.py docstring says it may import} (tools: unrestricted)."""
    out = {}
    for init in sorted(SRC.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        found = ALLOWS.search(doc)
        assert found, f"{init.relative_to(ROOT)}: the docstring says what the package holds and ends 'May import: ...'"
        names = re.findall(r"\b[a-z_]+\b", found.group(1))
        out[init.parent.name] = {n for n in names if (SRC / n).is_dir()}
    return out


def test_packages_import_only_downward_as_their_docstrings_say():
    known = modules()
    allowed = allowed_imports()
    uses = {}
    for m, p in known.items():
        for n in imports_of(m, p, known):
            a, b = package_of(m), package_of(n)
            if a and a != b and a != "tools":
                uses.setdefault(a, set()).add(b)
    wrong = {a: sorted(b - allowed[a]) for a, b in uses.items() if b - allowed[a]}
    assert not wrong, f"packages importing what their docstring does not allow: {wrong}"
    floors, left = [], {a: set(b) for a, b in allowed.items() if a != "tools"}   # the allowed graph has floors
    while left:
        ground = sorted(a for a, b in left.items() if not b & set(left))
        assert ground, f"the allowed imports run in a circle among {sorted(left)}"
        floors.append(ground)
        left = {a: b for a, b in left.items() if a not in ground}
    assert floors[0] == ["utilities"] and len(floors) >= 6, floors
    assert uses["training"] >= {"tasks", "data"} and "tasks" not in uses["loading"]     # the check is not empty
    # a command (a module directly under src/) may import any stage package, never a tool
    top = {m: imports_of(m, p, known) for m, p in known.items() if m.count(".") == 1}
    assert not {m: v for m, v in top.items() if any(n.startswith("src.tools") for n in v)}


def test_the_tree_reads_like_the_pipeline():
    top = sorted(p.name for p in SRC.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_MODULES, f"{len(top)} modules directly under src/: {top}"
    for package in sorted({p.parent for p in SRC.rglob("__init__.py")}):
        count = sum(1 for p in package.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
        assert count <= MAX_PACKAGE_MODULES, f"{package.relative_to(ROOT)} holds {count} modules"
    folders = {p.parent for p in SRC.rglob("*.py")}
    assert all((f / "__init__.py").is_file() for f in folders), "every folder of src/ is a package"
    named_like_tests = [str(p.relative_to(ROOT)) for p in SRC.rglob("test_*.py")] + \
        [str(p.relative_to(ROOT)) for p in SRC.rglob("*_test.py")]
    assert not named_like_tests, f"files pytest would collect as tests: {named_like_tests}"


def test_modules_are_small():
    long = {str(p.relative_to(ROOT)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_kind_is_asked_never_branched_on_by_name():
    pattern = re.compile(r'kind\(cfg\) ==|get\("kind"\)|\["kind"\] ==|kind == "(binary|multiclass|segmentation)"')
    allowed = {SRC / "utilities" / "config.py"} | set((SRC / "tasks").glob("*.py"))
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in list(SRC.rglob("*.py")) + [ROOT / f for f in
            ("train.py", "test.py", "evaluate.py")] if p not in allowed
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert not hits, f"branches on the kind's name outside src/tasks/: {hits}"


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
