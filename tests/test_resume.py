"""A training run killed with SIGKILL and resumed ends exactly where an uninterrupted run ends."""
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import torch

from conftest import ROOT, run, train_args


def args_for(demo, weights):
    return ["--data_dir", str(demo / "train_set"), "--fold", "0", "--weights_dir", str(weights),
            *train_args(epochs=4, patience=4)]


def test_kill_then_resume_matches_an_uninterrupted_run(demo, tmp_path):
    straight = tmp_path / "straight"
    run("train.py", *args_for(demo, straight))

    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args_for(demo, killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    metrics = killed / "fold_0" / "metrics.csv"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if metrics.is_file() and len(pd.read_csv(metrics)) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(pd.read_csv(metrics))
    assert 2 <= done_before < 4

    resumed = run("train.py", *args_for(demo, killed), "--resume")
    # the kill may land between writing metrics.csv and last.pt: then the epoch in flight is redone
    assert any(f"resuming after epoch {e}" in resumed.stdout for e in (done_before, done_before - 1))
    a = pd.read_csv(straight / "fold_0" / "metrics.csv")
    b = pd.read_csv(killed / "fold_0" / "metrics.csv")
    assert b["epoch"].tolist() == a["epoch"].tolist() == [1, 2, 3, 4]
    assert (a["val_loss"] - b["val_loss"]).abs().max() < 1e-6           # same seed, same data, CPU: identical
    oof_a = pd.read_csv(straight / "fold_0" / "oof.csv")
    oof_b = pd.read_csv(killed / "fold_0" / "oof.csv")
    assert (oof_a["Aneurysm"] - oof_b["Aneurysm"]).abs().max() < 1e-6
    best = torch.load(killed / "fold_0" / "best.pt", weights_only=True)
    assert best["epoch"] == torch.load(straight / "fold_0" / "best.pt", weights_only=True)["epoch"]
    assert not list((killed / "fold_0").glob(".*.tmp")), "no half-written files are left behind"
