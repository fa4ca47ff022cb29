"""Two gloo processes through torchrun train one fold end to end on the CPU."""

import pandas as pd
import torch
from conftest import ROOT, TRAIN_ARGS, run


def test_torchrun_two_processes_train_one_fold(demo, tmp_path):
    weights = tmp_path / "w"
    args = list(TRAIN_ARGS)
    args[args.index("--epochs") + 1] = "2"
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
