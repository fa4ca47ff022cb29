"""The fundus lesion task: colour input, field-of-view crop and CLAHE, one map per lesion type with a grade head,
pixel AUPR, and the whole flow (demo data, train.py, test.py, evaluate.py) as a user runs it."""
import json

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import average_precision_score

from conftest import run
from src.data.check import check
from src.data.discover import discover
from src.loading.dataset import MultiViewDataset
from src.metrics import pixels as PM
from src.networks.model import build_model
from src.preprocessing.geometry import restore
from src.preprocessing.views import Prep, clahe, load_mask, prepare
from src.readers.images import decode
from src.tasks import kind_of
from src.utilities import config as C

FUNDUS = C.resolved(C.load_config("fundus"), {"model.backbone": "test_resnet", "preprocess.img_size": 64})
LESIONS = FUNDUS["targets"]["columns"]


@pytest.fixture(scope="module")
def fundus(tmp_path_factory):
    out = tmp_path_factory.mktemp("fundus") / "data"
    run("src.tools.demo", "--task", "fundus", "--out", out, "--n_train", 18, "--n_test", 6, "--size_range", 96,
        128, "--workers", 2)
    return out


def test_pixel_aupr_is_sklearns_average_precision_and_dice_counts_pixels():
    rng = np.random.default_rng(1)
    truth = rng.random((3, 2, 24, 24)) < 0.05
    levels = PM.quantise(np.clip(truth * 0.35 + rng.random(truth.shape) * 0.7, 0, 1))
    hists = PM.histograms(levels, truth)
    assert hists.shape == (3, 2, 2, 256) and hists.sum() == truth.size
    for j in range(2):
        ref = average_precision_score(truth[:, j].ravel(), levels[:, j].ravel())
        assert PM.average_precision(hists[:, j].sum(0)) == pytest.approx(ref, abs=1e-12)
    pred, target = np.zeros((1, 1, 4, 4), np.uint8), np.zeros((1, 1, 4, 4), bool)
    pred[..., :2, :] = 255                      # 8 pixels predicted, 4 of them true
    target[..., :1, :] = True
    assert PM.dice_iou(PM.histograms(pred, target)[0, 0]) == pytest.approx((2 * 4 / 12, 4 / 8))
    lo, hi = PM.bootstrap_mean_aupr(hists, 200)
    assert lo <= PM.mean_aupr(hists) <= hi
    assert np.isnan(PM.average_precision(np.zeros((2, 256))))          # no lesion pixel: undefined, not 0


def test_fov_crop_keeps_the_disc_and_maps_go_back_onto_the_image(tmp_path):
    img = np.zeros((120, 200, 3), np.uint8)                             # wide, black on both sides
    cv2.circle(img, (100, 60), 55, (40, 90, 210), -1)                   # BGR: an orange disc
    cv2.imwrite(str(tmp_path / "eye.png"), img)
    cv2.imwrite(str(tmp_path / "disc.png"), np.where(img[..., 2] > 0, 255, 0).astype(np.uint8))
    prep = Prep(64, "fov", channels=3)
    view, box = prepare(decode(tmp_path / "eye.png", channels=3), prep)
    assert view.shape == (64, 64, 3) and view[32, 32, 0] > view[32, 32, 2]           # RGB order: red first
    assert box[2] == pytest.approx(45 / 200, abs=0.01) and box[3] == pytest.approx(156 / 200, abs=0.01)
    mask = load_mask(tmp_path / "disc.png", tmp_path / "eye.png", prep) > 127         # cut like its image
    inside = view.max(-1) > 20
    assert (mask & inside).sum() / (mask | inside).sum() > 0.9
    red = np.zeros_like(img)
    red[..., 2] = np.where(img[..., 2] > 0, 255, 0)                                   # IDRiD: red masks
    cv2.imwrite(str(tmp_path / "red.png"), red)
    cv2.imwrite(str(tmp_path / "ones.png"), (img[..., 2] > 0).astype(np.uint8))       # 0/1 masks
    for other in ("red.png", "ones.png"):
        assert np.array_equal(load_mask(tmp_path / other, tmp_path / "eye.png", prep) > 127, mask), other
    back = restore(mask.astype(np.float32), box, 120, 200) > 0.5                       # and back at 200 x 120
    disc = img[..., 2] > 0
    assert back.shape == (120, 200) and (back & disc).sum() / (back | disc).sum() > 0.9
    assert not back[:, :40].any() and not back[:, 160:].any()


def test_clahe_lifts_the_dark_side_and_green_mode_touches_green_only():
    rng = np.random.default_rng(0)
    img = np.full((64, 64, 3), 120, np.uint8)
    img[:, :32] = 30                                                     # a badly lit half
    img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
    lifted = clahe(img, 2.0, 4)
    assert lifted[:, :32].std() > img[:, :32].std()
    green = clahe(img, 2.0, 4, "green")
    assert np.array_equal(green[..., [0, 2]], img[..., [0, 2]]) and not np.array_equal(green[..., 1], img[..., 1])


def test_colour_and_gray_images_are_converted_with_a_note(fundus, tmp_path):
    gray = tmp_path / "g.png"
    cv2.imwrite(str(gray), np.full((10, 12), 77, np.uint8))
    rgb = decode(gray, channels=3)
    assert rgb.shape == (10, 12, 3) and (rgb == 77).all()
    assert decode(fundus / "test_set" / "images" / "fun00018.jpg").ndim == 2       # colour in a gray task
    one = fundus / "test_set" / "images" / "fun00019.jpg"
    cv2.imwrite(str(one), decode(one))                                             # now a gray JPEG
    problems = check(discover(fundus / "test_set", FUNDUS, "test"), FUNDUS, "test", decode=False)
    assert any(p.severity == "warning" and "gray images in a colour task" in p.what and p.items == [one.name]
               for p in problems)
    gray_task = C.resolved(FUNDUS, {"data.channels": 1})
    problems = check(discover(fundus / "test_set", gray_task, "test"), gray_task, "test", decode=True)
    assert [p.severity for p in problems if "colour images in a gray task" in p.what] == ["note"]


def test_lesion_samples_and_network(fundus):
    samples = discover(fundus / "train_set", FUNDUS, "train")
    assert samples.labels.shape == (18, 1) and all(len(m) == len(LESIONS) for m in samples.mask_paths)
    grades = pd.read_csv(fundus / "train_set" / "train.csv")["grade"].to_numpy()
    healthy = int(np.flatnonzero(grades == 0)[0])
    assert samples.mask_paths[healthy] == [None] * len(LESIONS)          # no file: none of that lesion
    ds = MultiViewDataset(samples, np.arange(4), FUNDUS, train=True, mask_is_target=True)
    x, (masks, grade), _ = ds[0]
    assert x.shape == (3, 64, 64) and masks.shape == (len(LESIONS), 64, 64) and grade.shape == (1,)
    kind = kind_of(FUNDUS)
    net = build_model(kind.model_args()).eval()
    seg, logits = net(torch.stack([x, ds[1][0]]))
    assert seg.shape == (2, len(LESIONS), 64, 64) and logits.shape == (2, 5)
    assert torch.isfinite(kind.loss((seg, logits), (torch.stack([masks, masks]), torch.stack([grade, grade]))))
    off = C.resolved(FUNDUS, {"train.grade_weight": 0.0})                # no grade head, no grade labels
    assert discover(fundus / "train_set", off, "train").labels is None
    assert build_model(kind_of(off).model_args())(x[None]).shape == (1, len(LESIONS), 64, 64)


def test_fundus_train_predict_evaluate_as_a_user(fundus, tmp_path):
    (fundus / "train_set" / "masks" / "SE").rename(tmp_path / "SE_elsewhere")    # one lesion folder absent
    weights, out = tmp_path / "weights", tmp_path / "pred"
    proc = run("train.py", "--config", "fundus", "--data_dir", fundus / "train_set", "--weights_dir", weights,
               "--fold", "all", "--n_folds", 2, "--epochs", 1, "--model", "test_resnet", "--img_size", 64,
               "--batch_size", 4, "--num_workers", 0, "--device", "cpu", "--no_cache", "--no_pretrained")
    log = proc.stdout + proc.stderr
    assert "mask folders absent" in log and "masks/SE" in log and "mean lesion AUPR" in log
    summary = json.loads((weights / "cv_summary.json").read_text())
    assert set(summary["lesion_aupr"]) == set(LESIONS) and "oof_grade_kappa" in summary

    proc = run("test.py", "--data_dir", fundus / "test_set", "--weights_dir", weights, "--out", out, "--device",
               "cpu", "--tta")
    ids = pd.read_csv(fundus / "test_set" / "test.csv", dtype=str)["id"].tolist()
    for lesion in LESIONS:
        for sid in ids:
            written = cv2.imread(str(out / lesion / f"{sid}.png"), cv2.IMREAD_UNCHANGED)
            image = cv2.imread(str(fundus / "test_set" / "images" / f"{sid}.jpg"))
            assert written.dtype == np.uint8 and written.shape == image.shape[:2]
    grades = pd.read_csv(out / "grades.csv", dtype={"id": str})
    assert grades["id"].tolist() == ids and np.allclose(grades.filter(like="grade_").sum(1), 1, atol=1e-3)
    again = run("test.py", "--data_dir", fundus / "test_set", "--weights_dir", weights, "--out", out, "--device",
                "cpu", check=False)
    assert again.returncode == 2 and "nothing is overwritten" in again.stderr

    proc = run("evaluate.py", "--config", "fundus", "--pred", out, "--gt", fundus / "groundtruth", "--plots",
               tmp_path / "plots", "--json", tmp_path / "scores.json", "--n_boot", 50)
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert 0 <= scores["mean_lesion_aupr"] <= 1 and set(scores["lesions"]) == set(LESIONS)
    assert "kappa" in scores["grade"] and "quadratic-weighted kappa" in proc.stdout
    assert (tmp_path / "plots" / "pr_curves.png").stat().st_size > 0
    (out / "MA" / f"{ids[0]}.png").unlink()
    bad = run("evaluate.py", "--config", "fundus", "--pred", out, "--gt", fundus / "groundtruth", check=False)
    assert bad.returncode == 2 and "missing or unreadable" in bad.stderr and "Traceback" not in bad.stderr
