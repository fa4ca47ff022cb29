"""Pictures through the real scripts: training curves, ROC/calibration (evaluate.py --plots), Grad-CAM."""
import numpy as np
import pandas as pd
from PIL import Image

from conftest import run


def picture(path, size):
    """The PNG opens, has the expected pixel size and is not a blank canvas."""
    assert path.is_file(), f"{path} missing"
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == size, (path, im.size)
        pixels = np.asarray(im.convert("L"), float)
    assert pixels.std() > 5, f"{path} looks blank"
    return pixels


def test_training_curve_per_fold(trained):
    weights, _ = trained
    for k in range(3):
        picture(weights / f"fold_{k}" / "training_curve.png", (1100, 420))


def test_evaluate_plots_roc_and_calibration(trained, demo, tmp_path):
    weights, _ = trained
    out = tmp_path / "output.csv"
    run("test.py", "--data_dir", demo / "test_set", "--weights_dir", weights, "--out", out, "--location_probs",
        "--num_workers", 0)
    proc = run("evaluate.py", "--pred", out, "--gt", demo / "groundtruth.csv", "--plots", tmp_path / "plots",
               "--n_boot", 0)
    roc = picture(tmp_path / "plots" / "roc.png", (1300, 620))       # Aneurysm panel + locations panel
    picture(tmp_path / "plots" / "calibration.png", (650, 800))
    assert "roc.png" in proc.stdout
    # a second run keeps the first pictures
    run("evaluate.py", "--pred", out, "--gt", demo / "groundtruth.csv", "--plots", tmp_path / "plots", "--n_boot", 0)
    assert (tmp_path / "plots" / "roc.png.bak").is_file()
    # the organizers' 0/1 location labels draw a different (one-point) picture than probabilities
    labels = tmp_path / "labels.csv"
    run("test.py", "--data_dir", demo / "test_set", "--weights_dir", weights, "--out", labels, "--num_workers", 0)
    run("evaluate.py", "--pred", labels, "--gt", demo / "groundtruth.csv", "--plots", tmp_path / "p01", "--n_boot", 0)
    assert np.abs(picture(tmp_path / "p01" / "roc.png", (1300, 620)) - roc).mean() > 0.5
    bad = run("evaluate.py", "--pred", labels, "--gt", demo / "groundtruth.csv", "--plots", labels, check=False)
    assert bad.returncode == 2 and "is a file" in bad.stderr and "Traceback" not in bad.stderr


def test_explain_writes_a_gradcam_grid(trained, demo, tmp_path):
    weights, _ = trained
    ids = pd.read_csv(demo / "train_set" / "train.csv", dtype=str)["Index"].tolist()
    proc = run("src.explain", "--data_dir", demo / "train_set", "--id", ids[2], "--weights_dir", weights,
               "--device", "cpu", "--out", tmp_path / "gradcam.png")
    assert "wrote" in proc.stdout
    picture(tmp_path / "gradcam.png", (1440, 830))                        # 8 views: 2 rows x 4
    proc = run("src.explain", "--data_dir", demo / "test_set", "--index", 0, "--weights_dir", weights,
               "--target", "L_MCA", "--out", tmp_path / "cam.png", "--device", "cpu")
    picture(tmp_path / "cam.png", (1440, 830))
    bad = run("src.explain", "--data_dir", demo / "test_set", "--index", 999, "--weights_dir", weights, check=False)
    assert bad.returncode == 2 and "--index must lie in 0..59" in bad.stderr and "Traceback" not in bad.stderr
    bad = run("src.explain", "--data_dir", demo / "test_set", "--index", 0, "--weights_dir", weights, "--target",
              "Nope", check=False)
    assert bad.returncode == 2 and "--target must be one of" in bad.stderr
    bad = run("src.explain", "--data_dir", demo / "test_set", "--index", 0, "--weights_dir", weights, "--out",
              tmp_path, check=False)
    assert bad.returncode == 2 and "is a folder" in bad.stderr
