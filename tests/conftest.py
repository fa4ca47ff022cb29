"""Shared fixtures: small synthetic K-ium data and one trained 3-fold run, made once per test session, also across
pytest-xdist workers (README's test command runs two: ``-n 2``)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# one torch (OpenMP) thread per process, inherited by every script a test runs: the networks are tiny, each xdist
# worker keeps a core busy, and a second thread per process only spins against the other worker (3x the CPU time)
os.environ.setdefault("OMP_NUM_THREADS", "1")
# hermetic: no network, and an empty model cache for this process and every script a test runs, so no test
# depends on the weights a machine happens to hold (timm's Hugging Face cache, torch hub)
_EMPTY = tempfile.mkdtemp(prefix="empty_model_cache_")
os.environ.update(HF_HOME=_EMPTY, HF_HUB_CACHE=os.path.join(_EMPTY, "hub"), TORCH_HOME=_EMPTY, HF_HUB_OFFLINE="1")

# the synthetic K-ium images of the demo fixture (and of honesty's fresh held-out set): small, with lesions large
# enough that test_efficientnet at 64 px learns them in a few epochs (every fold > 0.95 validation AUROC by epoch 6)
DEMO_IMAGES = ["--size_range", 120, 170, "--lesion_scale", 6]
TRAIN_ARGS = ["--model", "test_efficientnet", "--img_size", "64", "--epochs", "8", "--patience", "8",
              "--batch_size", "8", "--lr", "0.003", "--n_folds", "3", "--num_workers", "0", "--device", "cpu",
              "--no_cache", "--restarts", "0",   # a restart of a fold that learns late would double a test's time
              "--no_pretrained"]                 # the shipped YAMLs start lite0 from ImageNet; these tiny nets: scratch
SHARED_RUNS = ("trained", "second")   # fixtures with a training run behind them, shared by several test files


def train_args(**over):
    """TRAIN_ARGS with options replaced, e.g. ``train_args(epochs=2, n_folds=2)``; returns a new list of strings."""
    args = list(TRAIN_ARGS)
    for key, value in over.items():
        args[args.index(f"--{key}") + 1] = str(value)
    return args


def run(script, *args, cwd=None, check=True):
    """Run one of the project's scripts (or ``-m module``) as a user would; returns the CompletedProcess."""
    cmd = [sys.executable] + (["-m", script] if not script.endswith(".py") else [str(ROOT / script)])
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run(cmd + [str(a) for a in args], cwd=cwd or ROOT, capture_output=True, text=True,
                          env=env, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd + list(map(str, args)))} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def shared(tmp_path_factory, name, build):
    """The folder ``name`` filled by ``build(folder)`` once per session: under pytest-xdist the first worker that
    asks builds it (under a file lock, in the temp folder all workers share) and the others wait for it. A
    builder that crashed (its lock went with it) leaves a half-made folder, which the next one clears and builds
    again. Returns (folder, what build returned: JSON-able). Tests read the folder; a test that changes it works
    on a copy."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent                         # popen-gwN/..: this session's, common to its workers
    folder, done = base / name, base / f"{name}.json"
    with FileLock(str(base / f"{name}.lock")):
        if not done.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                done.write_text(json.dumps({"result": build(folder)}))
            except Exception as exc:               # the other workers fail at once instead of building it again
                done.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"[-4000:]}))
                raise
    got = json.loads(done.read_text())
    if "error" in got:
        pytest.fail(f"building the shared {name} failed in another worker: {got['error']}")
    return folder, got["result"]


def pytest_collection_modifyitems(items):
    """The tests on a shared training run go last, but for the first one: under xdist one worker trains it while
    the other runs the tests that need no trained run (the order within each group is kept)."""
    first = {name: next((it for it in items if name in it.fixturenames), None) for name in SHARED_RUNS}
    rank = {id(it): 0 for it in first.values() if it is not None}
    items.sort(key=lambda it: rank.get(id(it), 2 if set(SHARED_RUNS) & set(it.fixturenames) else 1))


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    def build(folder):
        run("src.tools.demo", "--task", "kium", "--out", folder / "kium", "--n_train", 120, "--n_test", 60,
            "--seed", 7, *DEMO_IMAGES, "--workers", 2)

    return shared(tmp_path_factory, "demo", build)[0] / "kium"


@pytest.fixture(scope="session")
def trained(demo, tmp_path_factory):
    """(weights folder, the CompletedProcess of its train.py run): 3 folds that learned, read-only."""
    def build(weights):
        cached = [a for a in TRAIN_ARGS if a != "--no_cache"] + ["--cache_dir", tmp_path_factory.mktemp("cache")]
        proc = run("train.py", "--data_dir", demo / "train_set", "--fold", "all", "--weights_dir", weights, *cached)
        return {"args": proc.args, "stdout": proc.stdout, "stderr": proc.stderr}

    weights, got = shared(tmp_path_factory, "weights", build)
    return weights, subprocess.CompletedProcess(got["args"], 0, got["stdout"], got["stderr"])
