"""Two gloo processes through torchrun train one fold end to end on the CPU."""

import numpy as np
import pandas as pd
import torch

from conftest import ROOT, run, train_args


def test_torchrun_two_processes_train_one_fold(demo, tmp_path):
    weights = tmp_path / "w"
    args = train_args(epochs=2)
    proc = run("torch.distributed.run", "--nproc_per_node", 2, str(ROOT / "train.py"), "--data_dir",
               demo / "train_set", "--fold", "1", "--weights_dir", weights, *args)
    assert "distributed: 2 processes (gloo backend)" in proc.stdout
    assert proc.stdout.count("fold 1 epoch 1/2") == 1, "only rank 0 reports"
    folds = pd.read_csv(weights / "folds.csv", dtype={"id": str})
    oof = pd.read_csv(weights / "fold_1" / "oof.csv", dtype={"id": str})
    assert sorted(oof["id"]) == sorted(folds.loc[folds.fold == 1, "id"])     # gathered: every validation sample
    assert pd.read_csv(weights / "fold_1" / "metrics.csv")["epoch"].tolist() == [1, 2]
    best = torch.load(weights / "fold_1" / "best.pt", weights_only=True)
    assert not any(k.startswith("module.") for k in best["model"]), "rank 0 saves the unwrapped network"


def test_torchrun_spread_folds_gives_each_process_whole_folds(demo, tmp_path):
    weights, alone = tmp_path / "spread", tmp_path / "alone"
    args = train_args(epochs=2, n_folds=2)
    proc = run("torch.distributed.run", "--nproc_per_node", 2, str(ROOT / "train.py"), "--data_dir",
               demo / "train_set", "--fold", "all", "--spread_folds", "--weights_dir", weights, *args)
    assert "spread folds: rank 0 trains fold(s) 0" in proc.stdout
    assert "spread folds: rank 1 trains fold(s) 1" in proc.stdout
    assert proc.stdout.count("cross-validation summary") == 1, "one summary, after both ranks finished"
    assert (weights / "cv_summary.json").is_file()
    for k in (0, 1):
        assert (weights / f"fold_{k}" / "train.log").read_text().count(f"fold {k} epoch 2/2") == 1
    # fold 1 trained by rank 1 alone is the same training as fold 1 trained without torchrun
    run("train.py", "--data_dir", demo / "train_set", "--fold", "1", "--weights_dir", alone, *args)
    spread_m = pd.read_csv(weights / "fold_1" / "metrics.csv")
    alone_m = pd.read_csv(alone / "fold_1" / "metrics.csv")
    assert np.allclose(spread_m["val_loss"], alone_m["val_loss"], atol=1e-3), (spread_m, alone_m)
    bad = run("train.py", "--data_dir", demo / "train_set", "--fold", "0", "--spread_folds", "--weights_dir",
              tmp_path / "x", *args, check=False)
    assert bad.returncode == 2 and "add --fold all" in bad.stderr
