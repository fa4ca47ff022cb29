"""Every fold carries its input recipe: test.py feeds each fold the normalisation it was trained with (folds
trained separately, from scratch or with ImageNet weights, differ there), refuses in one line folds whose views
were prepared differently, and train.py says so before a fold joins a folder whose folds differ."""
import shutil

import numpy as np
import pandas as pd
import torch

from conftest import run, train_args

ONE = train_args(n_folds=2, epochs=1)


def predict(demo, weights, out):
    run("test.py", "--data_dir", demo / "test_set", "--weights_dir", weights, "--out", out, "--device", "cpu",
        "--num_workers", 0, "--location_probs")
    return pd.read_csv(out).iloc[:, 1:].to_numpy()


def test_folds_trained_with_different_normalisations_are_each_fed_their_own(demo, tmp_path):
    w = tmp_path / "w"
    run("train.py", "--data_dir", demo / "train_set", "--fold", "0", "--weights_dir", w, *ONE)
    proc = run("train.py", "--data_dir", demo / "train_set", "--fold", "1", "--weights_dir", w, *ONE,
               "--set", "preprocess.mean=0.5", "--set", "preprocess.std=0.25")
    assert "another input normalisation" in proc.stdout
    recipes = [torch.load(w / f"fold_{k}" / "best.pt", weights_only=True)["input"] for k in (0, 1)]
    assert (recipes[0]["mean"], recipes[1]["mean"]) == (0.449, 0.5) and recipes[0]["decode"] == recipes[1]["decode"]
    both = predict(demo, w, tmp_path / "both.csv")
    alone = []
    for k in (0, 1):                                 # each fold predicting alone sees its own normalisation
        solo = tmp_path / f"solo{k}"
        shutil.copytree(w / f"fold_{k}", solo / f"fold_{k}")
        alone.append(predict(demo, solo, tmp_path / f"solo{k}.csv"))
    assert np.abs(both - (alone[0] + alone[1]) / 2).max() < 2e-6
    assert np.abs(alone[0] - alone[1]).max() > 1e-3


def test_folds_prepared_differently_are_refused_in_one_line(demo, tmp_path):
    w = tmp_path / "w"
    run("train.py", "--data_dir", demo / "train_set", "--fold", "0", "--weights_dir", w, *ONE)
    proc = run("train.py", "--data_dir", demo / "train_set", "--fold", "1", "--weights_dir", w,
               *train_args(n_folds=2, epochs=1, img_size=48), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "trained on other views (size 64 vs 48)" in proc.stderr and not (w / "fold_1").exists()
    other = tmp_path / "other"                       # a fold made elsewhere at another size, copied in by hand
    run("train.py", "--data_dir", demo / "train_set", "--fold", "1", "--weights_dir", other,
        *train_args(n_folds=2, epochs=1, img_size=48))
    shutil.copytree(other / "fold_1", w / "fold_1")
    proc = run("test.py", "--data_dir", demo / "test_set", "--weights_dir", w, "--out", tmp_path / "o.csv",
               "--device", "cpu", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "fold_1/best.pt was trained on other views" in proc.stderr and "size 64 vs 48" in proc.stderr
