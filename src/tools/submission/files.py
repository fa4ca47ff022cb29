"""What a submission is: the files that ship (code, configs, fold weights, requirements, documents), their
fingerprint, and the third-party modules the code imports."""
import ast
import hashlib
import importlib.metadata
import re
import sys
from pathlib import Path

from ...utilities import config as C
from ...utilities import layout
from ...utilities.files import sha256_of

CODE = ["train.py", "test.py", "evaluate.py", "requirements.txt", "SUBMISSION.md", "README.md"]
WEIGHT_FILES = [layout.SUMMARY, layout.FOLDS_CSV, layout.ENSEMBLE]
TOOLS = "tools"                  # src/tools/: developer tools, never shipped


def submission_files(weights_dir, root=C.PROJECT_ROOT):
    """{relative path in the submission: source path}. Weights go to weights/ whatever folder they came from;
    only best.pt of each fold (no last.pt with optimizer state), no data, caches or logs."""
    root, weights_dir = Path(root), Path(weights_dir)
    files = {name: root / name for name in CODE if (root / name).is_file()}
    # the core package with its sub-packages (tasks/, readers/, ...), not the developer tools (src/tools/)
    files.update({str(p.relative_to(root)): p for p in sorted((root / "src").rglob("*.py"))
                  if TOOLS not in p.relative_to(root / "src").parts[:-1]})
    files.update({str(p.relative_to(root)): p for p in sorted((root / "configs").glob("*.yaml"))})
    for p in layout.shipped_checkpoints(weights_dir):
        files[f"weights/{p.relative_to(weights_dir).as_posix()}"] = p
    for name in WEIGHT_FILES:
        if (weights_dir / name).is_file():
            files[f"weights/{name}"] = weights_dir / name
    return files


def fingerprint(files):
    """One hash over every shipped file's name and content: pre-flight's verdict belongs to exactly this tree."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(f"{rel}\0{sha256_of(files[rel])}\n".encode())
    return h.hexdigest()


def third_party_imports(py_files, local=("src",)):
    """Top-level names of the non-standard-library modules that the files import."""
    names = set()
    for path in py_files:
        try:
            tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return sorted(n for n in names if n not in sys.stdlib_module_names and n not in local and n != "__future__")


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(requirements_path):
    """{normalised distribution name: version} of the `name==version` lines of a requirements file."""
    out = {}
    for line in Path(requirements_path).read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if m:
            out[normalise(m.group(1))] = m.group(2)
    return out


def unpinned_imports(py_files, requirements_path):
    """[(module, distribution or None)] imported by the code but not pinned with == in requirements.txt."""
    dists = importlib.metadata.packages_distributions()
    pins = pinned(requirements_path)
    missing = []
    for mod in third_party_imports(py_files):
        candidates = dists.get(mod) or []
        if not any(normalise(d) in pins for d in candidates):
            missing.append((mod, candidates[0] if candidates else None))
    return missing
