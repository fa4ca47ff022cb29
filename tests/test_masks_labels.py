"""Masks stored as labels (0/1/2, one value per lung) are read as foreground wherever a mask file is decoded,
the data check names the values it found, and a Dice is never computed on empty truth as if it were perfect."""
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import run
from src.data.check import check
from src.data.discover import discover
from src.metrics import pixels as PM
from src.preprocessing.cache import ViewCache
from src.preprocessing.views import Prep, load_mask
from src.readers.masks import read, threshold_of
from src.utilities import config as C
from src.utilities.errors import UserError

FAST = ["--model", "test_efficientnet", "--img_size", "64", "--epochs", "2", "--n_folds", "2", "--lr", "0.003",
        "--batch_size", "4", "--num_workers", "0", "--device", "cpu", "--no_cache", "--no_pretrained"]
SEG = ["--config", "configs/cxr_lungseg.yaml"]


def as_labels(folder):
    """Rewrite every 0/255 lung mask of ``folder`` as labels: 1 on the left lung, 2 on the right one."""
    for path in sorted(folder.glob("*.png")):
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 0
        labels = np.zeros(mask.shape, np.uint8)
        half = mask.shape[1] // 2
        labels[:, :half][mask[:, :half]] = 1
        labels[:, half:][mask[:, half:]] = 2
        cv2.imwrite(str(path), labels)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    out = tmp_path_factory.mktemp("labels") / "data"
    run("src.tools.demo", "--task", "cxr", "--out", out, "--n_train", 16, "--n_test", 2, "--size_range", 80, 96)
    as_labels(out / "train_set" / "masks")
    return out


def test_one_rule_reads_labels_16_bit_and_colour_masks(tmp_path):
    labels = np.zeros((40, 40), np.uint8)
    labels[5:15, 5:15], labels[20:30, 20:30] = 1, 2
    cv2.imwrite(str(tmp_path / "labels.png"), labels)
    cv2.imwrite(str(tmp_path / "wide.png"), labels.astype(np.uint16) * 30000)
    cv2.imwrite(str(tmp_path / "red.png"), np.dstack([np.zeros_like(labels), np.zeros_like(labels), labels * 100]))
    for name in ("labels.png", "wide.png", "red.png"):
        mask = read(tmp_path / name)
        assert set(np.unique(mask)) == {0, 255} and (mask > 0).sum() == 200, name
    assert not read(tmp_path / "labels.png", 127).any()                   # a YAML may ask for > 127
    assert read(tmp_path / "nothing.png") is None
    prep = Prep(20, "none")
    assert 40 <= (load_mask(tmp_path / "labels.png", None, prep) > 127).sum() <= 60     # resized, not emptied
    assert Prep(20, "none", mask_threshold=127).key() != prep.key()              # the cache tells them apart
    cache = ViewCache(tmp_path / "cache", prep)
    cache.build([(tmp_path / "labels.png", None)], workers=1)
    assert ViewCache(tmp_path / "cache", Prep(20, "none", mask_threshold=127)).get(tmp_path / "labels.png") is None
    cfg = C.load_config("cxr_lungseg")
    assert threshold_of(cfg) == 0
    with pytest.raises(UserError, match="mask_threshold"):
        threshold_of(C.resolved(cfg, {"data.mask_threshold": -1}))


def test_empty_truth_has_no_dice():
    pred, truth = np.zeros((3, 4, 4), bool), np.zeros((3, 4, 4), bool)
    pred[0, :2], truth[0, :1], pred[2] = True, True, True
    s = PM.mask_scores(PM.overlap_counts(pred, truth))
    assert s["dice"][0] == pytest.approx(2 * 4 / 12) and np.isnan(s["dice"][1:]).all()
    assert s["mean_dice"] == pytest.approx(2 * 4 / 12) and s["empty_truth"] == 2 and s["false_positive_images"] == 1
    assert s["pooled_dice"] == pytest.approx(2 * 4 / (8 + 16 + 4))      # the false positives count here
    empty = PM.mask_scores(PM.overlap_counts(np.zeros((2, 4, 4), bool), np.zeros((2, 4, 4), bool)))
    assert np.isnan(empty["mean_dice"]) and np.isnan(empty["pooled_dice"])          # never 1.0


def test_label_masks_train_the_segmenter_and_score_through_the_scripts(labelled, tmp_path):
    train_set = labelled / "train_set"
    weights = tmp_path / "w"
    proc = run("train.py", *SEG, "--data_dir", train_set, "--fold", "0", "--weights_dir", weights, *FAST)
    assert ("masks: values found in 16 files, non-zero read as foreground (data.mask_threshold: 0) (3): 0; 1; 2"
            in proc.stdout)                                    # the data check names the values it found
    assert "every mask is empty" not in proc.stdout and "Dice" in proc.stdout
    dice = pd.read_csv(weights / "fold_0" / "metrics.csv")["val_dice"]
    assert (dice < 0.99).all(), dice.tolist()                  # empty masks against empty masks gave 1.0000

    scoring = tmp_path / "scoring"                             # the training images as a test folder
    shutil.copytree(train_set / "images", scoring / "images")
    ids = pd.read_csv(train_set / "train.csv", dtype=str)["id"]
    pd.DataFrame({"id": ids}).to_csv(scoring / "test.csv", index=False)
    pred = tmp_path / "pred"
    run("test.py", "--data_dir", scoring, "--weights_dir", weights, "--out", pred, "--num_workers", 0)
    scored = run("evaluate.py", *SEG, "--pred", pred, "--gt", train_set / "masks")
    assert "Dice " in scored.stdout and "Dice 1.0000" not in scored.stdout

    empty_pred, empty_truth = tmp_path / "empty_pred", tmp_path / "empty_truth"
    for folder in (empty_pred, empty_truth):
        folder.mkdir()
        for path in sorted((train_set / "masks").glob("*.png")):
            cv2.imwrite(str(folder / path.name), np.zeros_like(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)))
    scored = run("evaluate.py", *SEG, "--pred", empty_pred, "--gt", train_set / "masks")
    assert "Dice 0.0000  IoU 0.0000  (mean over the 16 images with a true mask)" in scored.stdout
    bad = run("evaluate.py", *SEG, "--pred", pred, "--gt", empty_truth, check=False)
    assert bad.returncode == 2 and "every true mask" in bad.stderr and "Dice 1.0000" not in bad.stdout

    strict = C.resolved(C.load_config("cxr_lungseg"), {"data.mask_threshold": 127})     # 0/1/2 read as 0/255
    problems = check(discover(train_set, strict, "train"), strict, "train")
    assert any(p.severity == "error" and p.what.startswith("every mask is empty") and len(p.items) == 16
               for p in problems)
