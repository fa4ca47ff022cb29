"""The masked chest X-ray tasks: lung segmentation, masks predicted for a test folder, masked classifier."""
import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from conftest import run, shared
from src.data.discover import discover
from src.loading.dataset import MultiViewDataset
from src.networks.model import build_model
from src.preprocessing.geometry import unpad
from src.tasks import kind_of
from src.tasks.segmentation import dice_iou
from src.utilities import config as C

MASKED = C.resolved(C.load_config(C.PROJECT_ROOT / "configs" / "cxr_masked.yaml"),
                    {"model.backbone": "test_efficientnet", "preprocess.img_size": 64})
SEG = C.resolved(C.load_config(C.PROJECT_ROOT / "configs" / "cxr_lungseg.yaml"),
                 {"model.backbone": "test_efficientnet", "preprocess.img_size": 64})
FAST = ["--model", "test_efficientnet", "--img_size", "64", "--epochs", "1", "--n_folds", "2", "--lr", "0.003",
        "--num_workers", "0", "--device", "cpu", "--no_cache", "--no_pretrained"]


@pytest.fixture(scope="session")
def cxr(tmp_path_factory):
    """Synthetic chest X-rays with lung masks, made once for all workers; read-only (a test that edits copies)."""
    def build(folder):
        run("src.tools.demo", "--task", "cxr", "--out", folder / "data", "--n_train", 24, "--n_test", 8,
            "--size_range", 80, 100)

    return shared(tmp_path_factory, "cxr", build)[0] / "data"


@pytest.mark.parametrize("mode,channels", [("none", 1), ("masked", 1), ("channel", 2), ("pool", 2), ("crop", 1),
                                          ("swap", 2)])
def test_mask_modes_feed_the_network(cxr, mode, channels):
    cfg = C.resolved(MASKED, {"model.mask_mode": mode})
    samples = discover(cxr / "train_set", cfg, "train")
    assert samples.labels.shape == (24, 4) and (samples.labels.sum(1) == 1).all()
    ds = MultiViewDataset(samples, np.arange(4), cfg, train=True)
    x, y, _ = ds[0]
    assert x.shape == (1, channels, 64, 64) and y.shape == (4,)
    if mode == "masked":
        outside = x[0, 0][ds[0][0][0, 0] == x[0, 0].min()]
        assert outside.numel() > 0
    net = build_model(kind_of(cfg).model_args()).eval()
    out = net(torch.stack([x, ds[1][0]]))
    assert out.shape == (2, 4)


def test_masked_mode_blacks_out_everything_outside_the_lungs(cxr):
    cfg = C.resolved(MASKED, {"model.mask_mode": "masked"})
    samples = discover(cxr / "train_set", cfg, "train")
    x, _, _ = MultiViewDataset(samples, np.arange(1), cfg)[0]
    mask = cv2.resize(cv2.imread(str(samples.mask_paths[0][0]), cv2.IMREAD_GRAYSCALE), (64, 64)) > 127
    black = -cfg["preprocess"]["mean"] / cfg["preprocess"]["std"]
    assert np.allclose(x[0, 0].numpy()[~mask & (cv2.erode(~mask * 1.0, np.ones((3, 3))) > 0)], black)


def test_segmentation_pieces():
    pred = np.zeros((2, 4, 4), bool)
    target = np.zeros((2, 4, 4), bool)
    pred[0, :2] = True
    target[0, :1] = True
    dice, iou = dice_iou(pred, target)
    assert dice[0] == pytest.approx(2 * 4 / (8 + 4)) and iou[0] == pytest.approx(4 / 8)
    assert np.isnan(dice[1]) and np.isnan(iou[1])          # an empty true mask has no Dice (never 1.0)
    net = build_model(kind_of(SEG).model_args()).eval()
    assert net(torch.randn(2, 1, 64, 64)).shape == (2, 1, 64, 64)
    wide = np.zeros((30, 50), np.float32)                  # a 50x30 image was padded to 50x50
    square = cv2.resize(np.pad(np.ones_like(wide), ((10, 10), (0, 0))), (64, 64))
    assert unpad(square, 30, 50).shape == (30, 50) and unpad(square, 30, 50).min() > 0.5


def test_lungseg_then_masked_classifier_then_organizer_flow(cxr, tmp_path):
    seg, cls = tmp_path / "weights_lungseg", tmp_path / "weights_cxr"
    proc = run("train.py", "--config", "configs/cxr_lungseg.yaml", "--data_dir", cxr / "train_set", "--fold", "all",
               "--weights_dir", seg, *FAST)
    assert "Dice" in proc.stdout
    metrics = pd.read_csv(seg / "fold_0" / "metrics.csv")
    assert {"val_dice", "val_iou"} <= set(metrics.columns)

    masks = tmp_path / "pred_masks"
    run("test.py", "--data_dir", cxr / "test_set", "--weights_dir", seg, "--out", masks, "--num_workers", 0)
    written = sorted(masks.glob("*.png"))
    assert len(written) == 8
    first = cv2.imread(str(written[0]), cv2.IMREAD_GRAYSCALE)
    image = cv2.imread(str(cxr / "test_set" / "images" / written[0].name), cv2.IMREAD_GRAYSCALE)
    assert first.shape == image.shape and set(np.unique(first)) <= {0, 255}

    run("train.py", "--config", "configs/cxr_masked.yaml", "--data_dir", cxr / "train_set", "--fold", "all",
        "--weights_dir", cls, *FAST)
    work = tmp_path / "organizer"
    work.mkdir()
    proc = run("test.py", "--data_dir", cxr / "test_set", "--weights_dir", cls, "--mask_weights", seg,
               "--num_workers", 0, cwd=work)
    assert "predicting lung masks for 8 samples" in proc.stdout
    out = pd.read_csv(work / "output.csv")
    assert list(out.columns) == ["id", "grade_0", "grade_1", "grade_2", "grade_3"]
    assert np.allclose(out[["grade_0", "grade_1", "grade_2", "grade_3"]].sum(1), 1, atol=1e-4)
    assert out["id"].tolist() == pd.read_csv(cxr / "test_set" / "test.csv")["id"].tolist()
    (work / "groundtruth.csv").write_bytes((cxr / "groundtruth.csv").read_bytes())
    proc = run("evaluate.py", "--config", "configs/cxr_masked.yaml", "--plots", "plots", cwd=work)
    assert "mean one-vs-rest AUROC" in proc.stdout and "grade_3" in proc.stdout
    for name in ("roc.png", "calibration.png"):
        with Image.open(work / "plots" / name) as im:
            assert im.format == "PNG" and min(im.size) > 300
    with Image.open(seg / "fold_0" / "training_curve.png") as im:          # the segmenter's Dice curve
        assert im.size == (1100, 420)
    run("src.explain", "--data_dir", cxr / "train_set", "--index", 1, "--weights_dir", cls, "--out",
        work / "cam.png", "--device", "cpu")
    with Image.open(work / "cam.png") as im:                                # one view: a single panel
        assert im.format == "PNG" and im.size == (360, 470)
    bad = run("src.explain", "--data_dir", cxr / "test_set", "--index", 0, "--weights_dir", seg, check=False)
    assert bad.returncode == 2 and "segmentation" in bad.stderr


def test_masked_classifier_without_masks_or_segmenter_warns_and_completes(cxr, tmp_path):
    cls = tmp_path / "w"
    run("train.py", "--config", "configs/cxr_masked.yaml", "--data_dir", cxr / "train_set", "--fold", "0",
        "--weights_dir", cls, *FAST)
    proc = run("test.py", "--data_dir", cxr / "test_set", "--weights_dir", cls, "--out", tmp_path / "o.csv",
               "--mask_weights", tmp_path / "no_segmenter", "--num_workers", 0)
    assert "whole image" in proc.stdout
    assert len(pd.read_csv(tmp_path / "o.csv")) == 8


def test_bad_severity_values_stop_training(cxr, tmp_path):
    data = tmp_path / "train_set"
    import shutil
    shutil.copytree(cxr / "train_set", data)
    frame = pd.read_csv(data / "train.csv", dtype=str)
    frame.loc[0, "severity"] = "5"
    frame.to_csv(data / "train.csv", index=False)
    proc = run("train.py", "--config", "configs/cxr_masked.yaml", "--data_dir", data, "--fold", "0",
               "--weights_dir", tmp_path / "w", *FAST, check=False)
    assert proc.returncode == 2 and "severity values outside 0..3" in proc.stderr
    (data / "masks" / f"{frame.loc[1, 'id']}.png").unlink()
    proc = run("train.py", "--config", "configs/cxr_lungseg.yaml", "--data_dir", data, "--fold", "0",
               "--weights_dir", tmp_path / "w2", *FAST, check=False)
    assert proc.returncode == 2 and "without a mask" in proc.stderr
