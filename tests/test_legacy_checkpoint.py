"""Checkpoints outlive the code that wrote them: a fold written by the harness before src/ was regrouped into
stage packages (main at 11f668a, one module per file directly under src/) loads and predicts as it did then.

tests/fixtures/legacy_kium/fold_0/best.pt was trained by that code (test_efficientnet, 32 px, one epoch on a tiny
synthetic K-ium set); expected_output.csv holds what its test.py wrote (--location_probs: every column a
probability) for the images ``write_test_set`` draws. Both are a few hundred KB and never change."""
import cv2
import numpy as np
import pandas as pd

from conftest import ROOT, run

LEGACY = ROOT / "tests" / "fixtures" / "legacy_kium"
VIEWS = ["LI-A", "LI-B", "LV-A", "LV-B", "RI-A", "RI-B", "RV-A", "RV-B"]
COLUMNS = ["Aneurysm", "L_ICA", "R_ICA", "L_PCOM", "R_PCOM", "L_AntChor", "R_AntChor", "L_ACA", "R_ACA", "L_ACOM",
           "R_ACOM", "L_MCA", "R_MCA", "L_VA", "R_VA", "L_PICA", "R_PICA", "L_SCA", "R_SCA", "BA", "L_PCA", "R_PCA"]


def write_test_set(folder, n=5, seed=3):
    """A K-ium-layout test folder drawn from a seeded generator (8-bit PNG, lossless, so every decoder reads the
    same pixels): gray and colour views of several sizes, a dark frame on some, one view missing."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    ids = [str(1000 + 7 * i) for i in range(n)]
    for i, sid in enumerate(ids):
        for j, view in enumerate(VIEWS):
            if (i, j) == (2, 5):
                continue                                    # a missing view: a blank image and a warning
            h, w = int(rng.integers(48, 90)), int(rng.integers(48, 90))
            img = (rng.random((h, w)) * 60 + 100).astype(np.uint8)
            cy, cx, r = int(rng.integers(10, h - 10)), int(rng.integers(10, w - 10)), int(rng.integers(2, 6))
            cv2.circle(img, (cx, cy), r, 30, -1)
            if (i + j) % 3 == 0:                             # a dark frame the border crop removes
                img = cv2.copyMakeBorder(img, 6, 6, 9, 9, cv2.BORDER_CONSTANT, value=5)
            if (i + j) % 4 == 1:
                img = np.dstack([img, img // 2 + 40, 255 - img])
            cv2.imwrite(str(folder / f"{sid}{view}.png"), img)
    pd.DataFrame({"Index": ids, **{c: 0 for c in COLUMNS}}).to_csv(folder / "test.csv", index=False)
    return ids


def test_a_checkpoint_from_before_the_regrouping_predicts_as_it_did(tmp_path):
    write_test_set(tmp_path / "test_set")
    out = tmp_path / "output.csv"
    run("test.py", "--data_dir", tmp_path / "test_set", "--weights_dir", LEGACY, "--out", out, "--device", "cpu",
        "--num_workers", 0, "--location_probs")
    got = pd.read_csv(out, dtype={"Index": str})
    want = pd.read_csv(LEGACY / "expected_output.csv", dtype={"Index": str})
    assert list(got.columns) == list(want.columns) == ["Index"] + COLUMNS
    assert got["Index"].tolist() == want["Index"].tolist()
    diff = np.abs(got[COLUMNS].to_numpy(float) - want[COLUMNS].to_numpy(float))
    assert diff.max() <= 2e-6, f"predictions moved by up to {diff.max():.2e}"
    assert want["Aneurysm"].nunique() > 1                  # the images differ enough to tell a broken decode
