"""Shared fixtures: small synthetic K-ium data and one trained 3-fold run, made once per test session."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# tiny but learnable: test_efficientnet at 96 px on large synthetic lesions
TRAIN_ARGS = ["--model", "test_efficientnet", "--img_size", "96", "--epochs", "12", "--patience", "12",
              "--batch_size", "8", "--lr", "0.003", "--n_folds", "3", "--num_workers", "0", "--device", "cpu",
              "--no_cache", "--restarts", "0"]   # a restart of a fold that learns late would double a test's time


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


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "kium"
    run("src.tools.demo_data", "--task", "kium", "--out", out, "--n_train", 120, "--n_test", 60, "--seed", 7,
        "--size_range", 120, 170, "--lesion_scale", 4, "--workers", 2)
    return out


@pytest.fixture(scope="session")
def trained(demo, tmp_path_factory):
    weights = tmp_path_factory.mktemp("weights")
    cached = [a for a in TRAIN_ARGS if a != "--no_cache"] + ["--cache_dir", tmp_path_factory.mktemp("cache")]
    proc = run("train.py", "--data_dir", demo / "train_set", "--fold", "all", "--weights_dir", weights, *cached)
    return weights, proc
