"""The sweep runner's leaderboard and --best YAML; CV against a fresh held-out set."""
import json

import pandas as pd
import yaml

from conftest import DEMO_IMAGES, run, train_args


def short_train_args():
    return train_args(epochs=1)


def test_sweep_trains_every_combination_resumes_and_writes_the_best(demo, tmp_path):
    out, best = tmp_path / "sweep", tmp_path / "best.yaml"
    cmd = ["--data_dir", demo / "train_set", "--grid", "pool=max,gem fusion=mean", "--folds", "0,1", "--out", out,
           "--best", best, "--", *short_train_args()]
    proc = run("src.tools.experiments.sweep", *cmd)
    board = pd.read_csv(out / "leaderboard.csv")
    assert sorted(board["run"]) == ["pool-gem_fusion-mean", "pool-max_fusion-mean"]
    assert {"oof_primary_auc", "mean_location_auc", "organizers_location_accuracy", "all_zeros_location_accuracy",
            "wall_s_per_fold"} <= set(board.columns)
    assert board["oof_primary_auc"].is_monotonic_decreasing
    assert "leaderboard" in proc.stdout
    winner = yaml.safe_load(best.read_text())
    assert winner["model"]["pool"] == board.loc[0, "pool"] and winner["model"]["fusion"] == "mean"
    # the options after -- are part of the winning recipe too
    assert winner["model"]["backbone"] == "test_efficientnet" and winner["preprocess"]["img_size"] == 64
    assert winner["train"]["epochs"] == 1 and winner["train"]["n_folds"] == 3
    folds = [pd.read_csv(out / r / "folds.csv") for r in board["run"]]
    assert folds[0].equals(folds[1]), "every combination uses the same split"
    again = run("src.tools.experiments.sweep", *cmd)                                 # finished folds are skipped
    assert "fold 0 epoch" not in again.stdout
    run("train.py", "--config", best, "--data_dir", demo / "train_set", "--fold", "2", "--weights_dir",
        tmp_path / "from_best", *short_train_args())


def test_honesty_compares_cv_with_a_fresh_held_out_set(trained, tmp_path):
    weights, _ = trained
    proc = run("src.tools.experiments.honesty", "--weights_dir", weights, "--out", tmp_path / "h", "--n_test", 40,
               "--seed", 999,
               *DEMO_IMAGES, "--num_workers", 0, "--device", "cpu")
    assert "out-of-fold CV vs fresh held-out set" in proc.stdout
    rows = {r["score"]: r for r in json.loads((tmp_path / "h" / "honesty.json").read_text())}
    prim = rows["primary AUROC"]
    assert abs(prim["held_out"] - prim["oof_cv"]) < 0.2 and prim["held_out"] > 0.75
