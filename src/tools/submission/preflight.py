"""Run the submission the way an organizer will:
`python -m src.tools.submission.preflight --data_dir SAMPLE_TEST [--gt GT]`.

Copies the submission (code, configs, fold weights, requirements.txt, documents; nothing else) into a temporary
folder and runs its test.py there from another working directory, with the network switched off for the
process. A Python audit hook records every file the run opens and every connection it tries: a file outside
the copy, the data folder, the output folder and the Python/system installation (a hard-coded path that only
exists on the author's machine) fails the check, and so does any connection. Then output.csv is checked
against test.csv, evaluate.py runs when ground truth is given, and every third-party module the code imports
must be pinned in requirements.txt. One verdict; exit 0 only on a clean pass, which pack then accepts.
"""
import argparse
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pandas as pd

from ...data.discover import discover
from ...tasks import kind_of
from ...tasks.output import output_ids, output_problems
from ...utilities import config as C
from ...utilities import layout
from ...utilities.checkpoint import load
from ...utilities.cli import command_parser
from ...utilities.errors import UserError, run_cli
from ...utilities.files import atomic_write_text
from .files import fingerprint, submission_files, unpinned_imports

MARKER = "preflight.json"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "NO_ALBUMENTATIONS_UPDATE": "1", "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
               "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "",
               "NO_PROXY": ""}
SYSTEM_ROOTS = ["/proc", "/sys", "/dev", "/etc", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/opt/conda"]

HOOK = """import json, os, runpy, sys
_log = open({log!r}, "a", buffering=1)
def _hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _log.write(json.dumps(["open", os.path.abspath(os.fsdecode(args[0]))]) + "\\n")
    elif event == "socket.connect" and isinstance(args[1], tuple):   # IP addresses, not local sockets
        _log.write(json.dumps(["connect", repr(args[1])]) + "\\n")
sys.addaudithook(_hook)
sys.path.insert(0, {root!r})
sys.argv = [{script!r}] + sys.argv[1:]
runpy.run_path({script!r}, run_name="__main__")
"""


def allowed_roots(*extra):
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *SYSTEM_ROOTS, *extra}
    roots.update(site.getsitepackages() + [site.getusersitepackages()])
    roots.update(p for p in sysconfig.get_paths().values() if p)
    return sorted({str(Path(r).resolve()) for r in roots if r})


def outside(paths, roots):
    bad = set()
    for p in paths:
        real = str(Path(p).resolve())
        if not any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots):
            bad.add(p)
    return sorted(bad)


def check_output(out_csv, data_dir, cfg):
    """Problems of output.csv against test.csv: rows, order, columns, ranges (test.py's own self-check rules)."""
    id_col = cfg["data"]["id_column"]
    if not Path(out_csv).is_file():
        return ["test.py wrote no output.csv"]
    out = pd.read_csv(out_csv, dtype={id_col: str})
    samples = discover(data_dir, cfg, "test")           # the rows test.py must write, as it found them
    return [f"output: {p}" for p in output_problems(out, output_ids(samples, cfg), cfg, kind_of(cfg).cols)]


def main(argv=None):
    p = command_parser("Check the submission the way an organizer will run it.",
                       "python -m src.tools.submission.preflight --data_dir demo/test_set --gt demo/groundtruth.csv")
    p.add_argument("--data_dir", required=True, help="a sample test folder in the organizers' layout")
    p.add_argument("--gt", help="its ground truth (then evaluate.py runs too)")
    p.add_argument("--weights_dir", help="weights to ship (default: weights/ of this project)")
    p.add_argument("--root", default=str(C.PROJECT_ROOT), help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=int, default=3600, help="seconds test.py may take")
    args = p.parse_args(argv)
    root = Path(args.root).resolve()
    weights = C.project_path(args.weights_dir, root / "weights")
    data = Path(args.data_dir).expanduser().resolve()
    if not data.is_dir():
        raise UserError(f"data folder not found: {data}")
    files = submission_files(weights, root)
    if not any(r.endswith("best.pt") for r in files):
        raise UserError(f"no fold weights (fold_K/best.pt) in {weights}: train first")
    reasons, notes = [], []
    with tempfile.TemporaryDirectory(prefix="preflight_") as tmp:
        copy, work = Path(tmp) / "submission", Path(tmp) / "organizer"
        for rel, src in files.items():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / rel)
        work.mkdir()
        child_tmp = Path(tmp) / "tmp"                     # the run's own temp folder, inside the check
        child_tmp.mkdir()
        log = Path(tmp) / "audit.jsonl"
        boot = child_tmp / "preflight_boot.py"
        boot.write_text(HOOK.format(log=str(log), root=str(copy), script=str(copy / "test.py")))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
        env.update(OFFLINE_ENV, TMPDIR=str(child_tmp))
        t0 = time.time()
        try:
            proc = subprocess.run([sys.executable, str(boot), "--data_dir", str(data)], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            raise UserError(f"test.py did not finish within {args.timeout} s") from None
        runtime = time.time() - t0
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["(no output)"])[-1]
            reasons.append(f"test.py failed (exit {proc.returncode}): {tail[:300]}")
        events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("[")]
        opened = [e[1] for e in events if e[0] == "open"]
        connects = sorted({e[1] for e in events if e[0] == "connect"})
        foreign = outside(opened, allowed_roots(copy, data, work, child_tmp))
        if foreign:
            reasons.append(f"test.py opened files outside the submission, the data and Python: {foreign[:5]} "
                           "(hard-coded paths?)")
        if connects:
            reasons.append(f"test.py tried network connections: {connects[:3]}")
        if proc.returncode == 0:
            cfg = load(layout.shipped_checkpoints(copy / "weights")[0], mmap=True)["config"]
            reasons += check_output(work / "output.csv", data, cfg)
            if args.gt and not reasons:
                shutil.copy(args.gt, work / "groundtruth.csv")
                ev = subprocess.run([sys.executable, str(copy / "evaluate.py"), "--config", cfg["task"]],
                                    cwd=work, env=env, capture_output=True, text=True)
                if ev.returncode != 0:
                    reasons.append(f"evaluate.py failed: {(ev.stderr.strip().splitlines() or ['?'])[-1][:300]}")
                else:
                    notes.append("scores: " + " | ".join(ev.stdout.strip().splitlines()[:2]))
        py = [copy / r for r in files if r.endswith(".py")]
        missing = unpinned_imports(py, copy / "requirements.txt")
        if missing:
            reasons.append("imported but not pinned (==) in requirements.txt: "
                           + ", ".join(f"{m} ({d or 'unknown distribution'})" for m, d in missing))
    verdict = "PASS" if not reasons else "FAIL"
    print(f"pre-flight {verdict}: test.py ran in {runtime:.1f} s from another folder, offline, on {data}")
    for n in notes:
        print(f"  {n}")
    for r in reasons:
        print(f"  - {r}")
    result = dict(verdict=verdict, reasons=reasons, fingerprint=fingerprint(files), runtime_s=round(runtime, 1),
                  data_dir=str(data), time=time.strftime("%Y-%m-%d %H:%M:%S"))
    if weights.is_dir():
        atomic_write_text(weights / MARKER, json.dumps(result, indent=2))
    return 0 if not reasons else 1


if __name__ == "__main__":
    run_cli(main)
