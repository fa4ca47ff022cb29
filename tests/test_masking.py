"""Masked chest X-ray under a shortcut: the confounded generator, the crop and swap mask modes, the masking check."""
import json

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import run
from src.data.discover import discover
from src.loading.dataset import MultiViewDataset
from src.preprocessing.mask_modes import swap_background
from src.tools.demo.cxr import draw_cxr, draw_icu_film
from src.utilities import config as C

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
    run("src.tools.demo", "--task", "cxr", "--out", out, "--n_train", 160, "--n_test", 160, "--seed", 3,
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
    run("src.tools.demo", "--task", "cxr", "--out", plain, "--n_train", 30, "--n_test", 4, "--seed", 3,
        "--size_range", 140, 160)
    assert not any(icu_tagged(p) for p in (plain / "train_set" / "images").glob("*.png"))
    bad = run("src.tools.demo", "--task", "kium", "--out", tmp_path / "k", "--confounders", 0.5, check=False)
    assert bad.returncode == 2 and "--confounders" in bad.stderr


def film_pair(folder):
    """The same film with and without the ICU confounders, with its lung mask, as a one-sample data set each
    (plain/, icu/) and as one two-sample set (both/: a plain, b with the confounders)."""
    img, mask = draw_cxr(np.random.default_rng(5), (150, 150), 2, 4)
    icu = img.astype(np.float32)
    draw_icu_film(np.random.default_rng(6), icu, mask, 150)
    icu = np.clip(icu, 0, 255).astype(np.uint8)
    for name, films in (("plain", {"a": img}), ("icu", {"a": icu}), ("both", {"a": img, "b": icu})):
        (folder / name / "images").mkdir(parents=True)
        (folder / name / "masks").mkdir()
        for sid, picture in films.items():
            cv2.imwrite(str(folder / name / "images" / f"{sid}.png"), picture)
            cv2.imwrite(str(folder / name / "masks" / f"{sid}.png"), mask)
        pd.DataFrame({"id": list(films), "severity": 2}).to_csv(folder / name / "train.csv", index=False)
    assert (np.abs(icu.astype(float) - img) > 50).sum() > 100          # the confounders are really there


@pytest.mark.parametrize("mode,blind", [("crop", True), ("masked", True), ("pool", False), ("none", False),
                                       ("swap", False)])
def test_what_each_mode_sees_outside_the_lungs(tmp_path, mode, blind):
    film_pair(tmp_path)
    cfg = C.resolved(MASKED, {"model.mask_mode": mode})
    x = {name: MultiViewDataset(discover(tmp_path / name, cfg, "train"), [0], cfg)[0][0][0, 0].numpy()
         for name in ("plain", "icu")}
    assert np.allclose(x["plain"], x["icu"], atol=1e-5) == blind


def test_swap_mode_trains_on_another_films_surroundings(tmp_path):
    film_pair(tmp_path)
    still = {f"augment.{k}": 0.0 for k in ("affine_p", "contrast_p", "gamma_p", "noise_p")}
    cfg = C.resolved(MASKED, {"model.mask_mode": "swap", **still})
    samples = discover(tmp_path / "both", cfg, "train")
    shown = {train: MultiViewDataset(samples, [0, 1], cfg, train=train) for train in (False, True)}
    x = {(train, i): shown[train][(i, 0)][0].numpy() for train in (False, True) for i in (0, 1)}
    assert x[False, 0].shape == (1, 2, 64, 64)                         # the film and its mask, as in pool
    assert not np.allclose(x[False, 0], x[False, 1], atol=1e-5)        # b carries the ICU confounders ...
    assert np.allclose(x[True, 1], x[False, 0], atol=1e-5)             # ... that training swaps for a's
    assert np.allclose(x[True, 0], x[False, 1], atol=1e-5)             # and the other way round
    view, other = np.zeros((20, 20), np.uint8), np.full((20, 20), 9, np.uint8)
    mask, other_mask = np.zeros((20, 20, 1), np.uint8), np.zeros((20, 20, 1), np.uint8)
    mask[5:9, 5:9], other_mask[12:15, 12:15] = 255, 255
    kept = np.zeros((20, 20), bool)
    kept[4:10, 4:10] = kept[11:16, 11:16] = True                       # both films' lungs, one pixel wider
    assert np.array_equal(swap_background(view, mask, other, other_mask, 0.05) == 0, kept)


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
    run("src.tools.demo", "--task", "cxr", "--out", data, "--n_train", 24, "--n_test", 8, "--size_range", 80,
        100, "--confounders", 0.8)
    out = tmp_path / "runs"
    proc = run("src.tools.experiments.measure_masking", "--data_dir", data / "train_set",
               "--test_dir", data / "test_set",
               "--gt", data / "groundtruth.csv", "--out", out, "--modes", "none,crop", "--model", "test_efficientnet",
               "--img_size", 64, "--epochs", 1, "--n_folds", 2, "--device", "cpu", "--num_workers", 0,
               "--mask_weights", tmp_path / "no_segmenter")
    table = pd.read_csv(out / "masking_results.csv")
    assert table["mask_mode"].tolist() == ["none", "crop"]
    assert np.allclose(table["cv_minus_test"], table["oof_mean_auc"] - table["test_mean_auc"])
    assert table["test_mean_auc"].between(0, 1).all() and (out / "output_crop.csv").is_file()
    check = json.loads((out / "weights_crop" / "cv_summary.json").read_text())["masking_check"]
    gap = table["oof_mean_auc"][0] - table["oof_mean_auc"][1]
    assert check["gap"] == pytest.approx(gap) and check["flag"] == (gap > check["fold_sd"])
    assert "vs mask mode crop" in proc.stdout and "whole image" in proc.stderr        # no segmenter: warned
    bad = run("src.tools.experiments.measure_masking", "--data_dir", data / "train_set",
              "--test_dir", data / "test_set",
              check=False)
    assert bad.returncode == 2 and "--gt" in bad.stderr
