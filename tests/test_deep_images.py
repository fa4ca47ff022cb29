"""Deep images (16-bit PNG/TIFF) are scaled through a robust window, not min/max, and test.py's start-up check
reports every problem the standalone data check reports (issue 24, item 5)."""
import re

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import run
from src.readers.formats import looks_like_image
from src.readers.images import decode
from src.readers.intensity import robust_range, robust_window
from src.utilities import config as C

KIUM = C.load_config("kium")


def twelve_bit(h=200, w=240, seed=0):
    """12-bit data (0..4095) with structure, in a uint16 array, and one saturated 16-bit pixel."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.normal(2000, 600, (h, w)).astype(np.float32), (0, 0), 3) * 3 - 4000
    img = np.clip(img + rng.normal(0, 60, (h, w)), 0, 4095).astype(np.uint16)
    img[h // 3, w // 3] = 65535
    return img


def test_a_deep_png_with_one_saturated_pixel_keeps_its_contrast(tmp_path):
    data = twelve_bit()
    cv2.imwrite(str(tmp_path / "deep.png"), data)
    img = decode(tmp_path / "deep.png")
    assert img.dtype == np.uint8 and img.shape == data.shape
    stretched = (data.astype(float) - data.min()) * 255 / (data.max() - data.min())
    assert stretched.mean() < 20                                   # what the min/max stretch made of it
    export = np.rint(np.minimum(data, 4095).astype(float) * 255 / 4095)     # its 8-bit export: 12 bits -> 8
    assert np.abs(img.astype(int) - export).max() <= 1, np.abs(img.astype(int) - export).max()
    cv2.imwrite(str(tmp_path / "deep.tif"), data)                  # TIFF: found by content, the same window
    assert looks_like_image(tmp_path / "deep.tif") and np.array_equal(decode(tmp_path / "deep.tif"), img)
    colour = np.dstack([data, data // 2, data // 4])
    cv2.imwrite(str(tmp_path / "colour.png"), colour)              # BGR on disk; one window for all channels
    rgb = decode(tmp_path / "colour.png", channels=3)
    assert rgb[..., 2].mean() > rgb[..., 1].mean() > rgb[..., 0].mean()


def test_eight_bit_images_are_not_rescaled(tmp_path):
    img = np.random.default_rng(1).integers(40, 90, (64, 80), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    assert np.array_equal(decode(tmp_path / "a.png"), img)


def test_robust_range_edge_cases():
    flat = np.zeros((50, 50), np.uint16)
    flat[0, 0] = 7
    assert robust_range(flat) == (0.0, 7.0)                        # nearly flat: min..max instead
    with_nan = np.array([[np.nan, 1.0, 2.0, 3.0]] * 10)
    assert robust_range(with_nan, (0, 100)) == (1.0, 3.0)
    big = np.tile(np.arange(4096, dtype=np.uint16), (600, 1))       # 2.4 M pixels: taken on a subsample
    lo, hi = robust_range(big)
    assert abs(lo - 20) < 3 and abs(hi - 4075) < 3
    assert robust_window(big).max() == 255 and robust_window(big).min() == 0


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A tiny K-ium run (2 folds, 1 epoch, 64 px) for test.py to load."""
    base = tmp_path_factory.mktemp("deep")
    run("src.tools.demo", "--task", "kium", "--out", base / "demo", "--n_train", 12, "--n_test", 2,
        "--seed", 3, "--size_range", 96, 128, "--lesion_scale", 4, "--workers", 1)
    run("train.py", "--data_dir", base / "demo" / "train_set", "--weights_dir", base / "w", "--fold", "all",
        "--model", "test_efficientnet", "--img_size", 64, "--epochs", 1, "--batch_size", 4, "--n_folds", 2,
        "--num_workers", 0, "--device", "cpu", "--no_cache", "--restarts", 0, "--no_pretrained")
    return base / "w"


def problem_lines(text):
    """The problem lines of a log, without their level letter and time: [severity] what (n): items."""
    return sorted(re.sub(r"^[A-Z] \d\d:\d\d:\d\d ", "", line) for line in text.splitlines() if "] " in line
                  and re.search(r"\[(warning|error|note)\]", line))


def test_test_py_reports_what_the_standalone_check_reports(weights, tmp_path):
    folder = tmp_path / "test_set"
    folder.mkdir()
    views = C.views(KIUM)
    rng = np.random.default_rng(0)
    for k, view in enumerate(views):
        cv2.imwrite(str(folder / f"1{view}.png"), twelve_bit(seed=k))                   # deep, one hot pixel
        texture = cv2.GaussianBlur(rng.integers(0, 256, (120, 120), dtype=np.uint8), (0, 0), 2)
        cv2.imwrite(str(folder / f"2{view}.jpg"), np.full((120, 120), 128, np.uint8) if k == 0 else texture)
    pd.DataFrame({"Index": [1, 2], **{c: 0 for c in C.target_columns(KIUM)}}).to_csv(folder / "test.csv",
                                                                                   index=False)
    alone = run("src.check_data", "--data_dir", folder, "--img_size", 64)
    at_start = run("test.py", "--data_dir", folder, "--weights_dir", weights, "--out", tmp_path / "out.csv",
                   "--device", "cpu", "--num_workers", 0)
    expected = problem_lines(alone.stdout + alone.stderr)
    assert any("near-blank images (almost no contrast) (1): 2LI-A.jpg" in line for line in expected), expected
    assert not any("1LI-A.png" in line for line in expected)       # the deep views are not near-blank
    assert problem_lines(at_start.stdout + at_start.stderr) == expected
    summary = [line for line in at_start.stdout.splitlines() if "problems (" in line]
    assert summary and "| 1 problems (0 errors)" in summary[0]
