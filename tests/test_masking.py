"""Masked chest X-ray under a shortcut: the confounded generator, the crop mask mode, the masking check."""
import json

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import run

from src import config as C
from src.data import discover
from src.dataset import MultiViewDataset
from src.tools.demo_cxr import draw_cxr, draw_icu_film

MASKED = C.resolved(C.load_config(C.PROJECT_ROOT / "configs" / "cxr_masked.yaml"),
                    {"model.backbone": "test_efficientnet", "preprocess.img_size": 64})


def icu_tagged(path):
    """Whether a generated film carries the ICU tag or box: bright pixels in the top corners, off the body."""
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    h, w = img.shape
    top = img[: int(h * 0.09)]
    return bool(max(top[:, : int(w * 0.35)].max(), top[:, -int(w * 0.35):].max()) > 110)


def grades_and_tags(folder, grades):
    return pd.DataFrame({"grade": grades.to_numpy(),
                         "icu": [icu_tagged(folder / "images" / f"{i}.png") for i in grades.index]})


def test_shortcut_follows_the_grade_in_training_only(tmp_path):
    out = tmp_path / "cxr"
    run("src.tools.demo_data", "--task", "cxr", "--out", out, "--n_train", 160, "--n_test", 160, "--seed", 3,
        "--size_range", 140, 160, "--confounders", 1)
    train = pd.read_csv(out / "train_set" / "train.csv", index_col="id")["severity"]
    truth = pd.read_csv(out / "groundtruth.csv", index_col="id")
    tr = grades_and_tags(out / "train_set", train)
    te = grades_and_tags(out / "test_set", pd.Series(truth.to_numpy().argmax(1), index=truth.index))
    rate_tr = tr.groupby("grade")["icu"].mean()
    assert rate_tr[0] < 0.1 and rate_tr[3] > 0.9                       # training: the tag marks the sick films
    assert tr["grade"].corr(tr["icu"].astype(float)) > 0.6
    assert abs(te["grade"].corr(te["icu"].astype(float))) < 0.2        # test: it says nothing about the grade
    assert abs(te["icu"].mean() - tr["icu"].mean()) < 0.15             # ... at about the same overall rate
    plain = tmp_path / "plain"
    run("src.tools.demo_data", "--task", "cxr", "--out", plain, "--n_train", 30, "--n_test", 4, "--seed", 3,
        "--size_range", 140, 160)
    assert not any(icu_tagged(p) for p in (plain / "train_set" / "images").glob("*.png"))
    bad = run("src.tools.demo_data", "--task", "kium", "--out", tmp_path / "k", "--confounders", 0.5, check=False)
    assert bad.returncode == 2 and "--confounders" in bad.stderr


def film_pair(folder):
    """The same film with and without the ICU confounders, with its lung mask, as a one-sample data set each."""
    img, mask = draw_cxr(np.random.default_rng(5), (150, 150), 2, 4)
    icu = img.astype(np.float32)
    draw_icu_film(np.random.default_rng(6), icu, mask, 150)
    for name, picture in (("plain", img), ("icu", np.clip(icu, 0, 255).astype(np.uint8))):
        (folder / name / "images").mkdir(parents=True)
        (folder / name / "masks").mkdir()
        cv2.imwrite(str(folder / name / "images" / "a.png"), picture)
        cv2.imwrite(str(folder / name / "masks" / "a.png"), mask)
        pd.DataFrame({"id": ["a"], "severity": [2]}).to_csv(folder / name / "train.csv", index=False)
    assert (np.abs(icu - img) > 50).sum() > 100                        # the confounders are really there


@pytest.mark.parametrize("mode,blind", [("crop", True), ("masked", True), ("pool", False), ("none", False)])
def test_what_each_mode_sees_outside_the_lungs(tmp_path, mode, blind):
    film_pair(tmp_path)
    cfg = C.resolved(MASKED, {"model.mask_mode": mode})
    x = {name: MultiViewDataset(discover(tmp_path / name, cfg, "train"), [0], cfg)[0][0][0, 0].numpy()
         for name in ("plain", "icu")}
    assert np.allclose(x["plain"], x["icu"], atol=1e-5) == blind


def test_crop_mode_fills_the_input_with_the_lungs(tmp_path):
    film_pair(tmp_path)
    cfg = C.resolved(MASKED, {"model.mask_mode": "crop"})
    samples = discover(tmp_path / "plain", cfg, "train")
    x, _, _ = MultiViewDataset(samples, [0], cfg)[0]
    assert x.shape == (1, 1, 64, 64)
    black = -cfg["preprocess"]["mean"] / cfg["preprocess"]["std"]
    seen = ~np.isclose(x[0, 0].numpy(), black)                         # the lungs and their margin
    rows, cols = np.nonzero(seen.any(1))[0], np.nonzero(seen.any(0))[0]
    assert max(np.ptp(rows), np.ptp(cols)) + 1 >= 0.9 * 64            # the lungs' box spans the input
    mask = cv2.imread(str(samples.mask_paths[0][0]), cv2.IMREAD_GRAYSCALE) > 127
    assert 1.5 * mask.mean() < seen.mean() < 0.9                       # more of the input is lung, not all of it


def test_measure_masking_reports_test_scores_and_the_gap(tmp_path):
    data = tmp_path / "cxr"
    run("src.tools.demo_data", "--task", "cxr", "--out", data, "--n_train", 24, "--n_test", 8, "--size_range", 80,
        100, "--confounders", 0.8)
    out = tmp_path / "runs"
    proc = run("src.tools.measure_masking", "--data_dir", data / "train_set", "--test_dir", data / "test_set",
               "--gt", data / "groundtruth.csv", "--out", out, "--modes", "none,crop", "--model", "test_efficientnet",
               "--img_size", 64, "--epochs", 2, "--n_folds", 2, "--device", "cpu", "--num_workers", 0,
               "--mask_weights", tmp_path / "no_segmenter")
    table = pd.read_csv(out / "masking_results.csv")
    assert table["mask_mode"].tolist() == ["none", "crop"]
    assert np.allclose(table["cv_minus_test"], table["oof_mean_auc"] - table["test_mean_auc"])
    assert table["test_mean_auc"].between(0, 1).all() and (out / "output_crop.csv").is_file()
    check = json.loads((out / "weights_crop" / "cv_summary.json").read_text())["masking_check"]
    gap = table["oof_mean_auc"][0] - table["oof_mean_auc"][1]
    assert check["gap"] == pytest.approx(gap) and check["flag"] == (gap > check["fold_sd"])
    assert "vs mask mode crop" in proc.stdout and "whole image" in proc.stderr        # no segmenter: warned
    bad = run("src.tools.measure_masking", "--data_dir", data / "train_set", "--test_dir", data / "test_set",
              check=False)
    assert bad.returncode == 2 and "--gt" in bad.stderr
