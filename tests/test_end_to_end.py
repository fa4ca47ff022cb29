"""The whole path through the real scripts, as a participant and an organizer run them, on the CPU."""
import json
import shutil

import cv2
import numpy as np
import pandas as pd
import torch

from conftest import ROOT, run

KIUM_COLUMNS = ("Index Aneurysm L_ICA R_ICA L_PCOM R_PCOM L_AntChor R_AntChor L_ACA R_ACA L_ACOM R_ACOM L_MCA "
                "R_MCA L_VA R_VA L_PICA R_PICA L_SCA R_SCA BA L_PCA R_PCA").split()


def test_training_writes_every_fold_artifact(trained):
    weights, proc = trained
    assert (weights / "folds.csv").is_file()
    for k in range(3):
        d = weights / f"fold_{k}"
        for name in ("best.pt", "last.pt", "metrics.csv", "oof.csv", "train.log", "config.yaml"):
            assert (d / name).is_file(), f"{d / name} missing"
        best = torch.load(d / "best.pt", weights_only=True)
        assert "optimizer" not in best
        assert best["model_args"]["backbone"] == "test_efficientnet"
        assert set(best["thresholds"]) == set(KIUM_COLUMNS[2:])
        assert best["config"]["preprocess"]["img_size"] == 64
        assert len(pd.read_csv(d / "metrics.csv")) >= 1
    summary = json.loads((weights / "cv_summary.json").read_text())
    assert summary["n_folds"] == 3 and len(summary["per_fold_primary_auc"]) == 3
    assert "cross-validation summary" in proc.stdout
    # every training sample appears in exactly one fold's out-of-fold predictions
    oof = pd.concat([pd.read_csv(weights / f"fold_{k}" / "oof.csv", dtype={"id": str}) for k in range(3)])
    train_ids = pd.read_csv(weights / "folds.csv", dtype={"id": str})["id"]
    assert sorted(oof["id"]) == sorted(train_ids)


def test_organizer_flow_from_another_folder(trained, demo, tmp_path):
    """test.py run from an unrelated folder on a nested copy of the test set, then both scorers."""
    weights, _ = trained
    nested = tmp_path / "test_set"
    shutil.copytree(demo / "test_set", nested / "test_set")      # some copies nest one more level
    work = tmp_path / "organizer"
    work.mkdir()
    proc = run("test.py", "--data_dir", nested, "--weights_dir", weights, "--device", "cpu", "--num_workers", 0,
               cwd=work)
    assert "self-check" in proc.stdout and "OK" in proc.stdout
    out = pd.read_csv(work / "output.csv", dtype={"Index": str})
    test_csv = pd.read_csv(demo / "test_set" / "test.csv", dtype={"Index": str})
    assert list(out.columns) == KIUM_COLUMNS
    assert out["Index"].tolist() == test_csv["Index"].tolist()
    assert out["Aneurysm"].between(0, 1).all()
    assert out[KIUM_COLUMNS[2:]].isin([0, 1]).all().all()
    assert all(str(t) == "int64" for t in out[KIUM_COLUMNS[2:]].dtypes)

    shutil.copy(demo / "groundtruth.csv", work / "groundtruth.csv")
    theirs = run(str(ROOT / "tests" / "organizer_evaluate.py"), cwd=work)
    their_auc, their_acc = map(float, theirs.stdout.split())
    ours = run("evaluate.py", "--n_boot", 200, cwd=work)
    lines = dict(line.split(": ") for line in ours.stdout.splitlines()[:2])
    assert abs(float(lines["Aneurysm AUROC"]) - their_auc) < 1e-4
    assert abs(float(lines["location accuracy"]) - their_acc) < 1e-4
    # the synthetic lesions are learnable: the held-out test set is predicted clearly better than chance
    assert their_auc > 0.75, their_auc


def test_tta_and_location_probabilities(trained, demo, tmp_path):
    weights, _ = trained
    plain, tta = tmp_path / "plain.csv", tmp_path / "tta.csv"
    common = ["--data_dir", demo / "test_set", "--weights_dir", weights, "--device", "cpu", "--num_workers", 0]
    run("test.py", *common, "--out", plain, "--location_probs")
    run("test.py", *common, "--out", tta, "--tta", "--location_probs")
    a, b = pd.read_csv(plain), pd.read_csv(tta)
    assert list(a.columns) == list(b.columns) == KIUM_COLUMNS
    locs = a[KIUM_COLUMNS[2:]].to_numpy()
    assert ((locs > 0) & (locs < 1)).any(), "--location_probs should write probabilities"
    assert not np.allclose(a["Aneurysm"], b["Aneurysm"]), "--tta should change the predictions"
    gt = pd.read_csv(demo / "groundtruth.csv")
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(gt["Aneurysm"], b["Aneurysm"]) > 0.75


def test_rerun_keeps_the_previous_output(trained, demo, tmp_path):
    weights, _ = trained
    out = tmp_path / "output.csv"
    out.write_text("precious\n")
    run("test.py", "--data_dir", demo / "test_set", "--weights_dir", weights, "--out", out, "--num_workers", 0)
    assert (tmp_path / "output.csv.bak").read_text() == "precious\n"
    assert len(pd.read_csv(out)) == 60


def test_missing_views_and_no_csv_still_give_every_row(trained, demo, tmp_path):
    weights, _ = trained
    data = tmp_path / "test_set"
    shutil.copytree(demo / "test_set", data)
    ids = pd.read_csv(data / "test.csv", dtype={"Index": str})["Index"].tolist()
    (data / f"{ids[0]}LI-A.jpg").unlink()                        # one view missing
    for f in data.glob(f"{ids[1]}*.jpg"):                          # one patient with no image at all
        f.unlink()
    (data / f"{ids[2]}RV-B.jpg").write_bytes(b"")                   # zero-byte file
    jpg = (data / f"{ids[3]}LV-A.jpg").read_bytes()
    (data / f"{ids[3]}LV-A.jpg").write_bytes(jpg[: len(jpg) // 2])   # truncated
    (data / f"{ids[4]}LI-B.jpg").write_text("not an image")           # text named .jpg
    gray = cv2.imread(str(data / f"{ids[5]}RI-A.jpg"), cv2.IMREAD_GRAYSCALE)
    (data / f"{ids[5]}RI-A.jpg").write_bytes(cv2.imencode(".png", gray.astype(np.uint16) * 257)[1].tobytes())
    (data / f"{ids[6]}RI-B.jpg").rename(data / f"{ids[6]}RI-B.PNG")   # other extension, other case
    (data / "Thumbs.db").write_bytes(b"\0\1")
    proc = run("test.py", "--data_dir", data, "--weights_dir", weights, "--out", tmp_path / "o.csv",
               "--num_workers", 0)
    assert "missing views" in proc.stdout and ids[1] in proc.stdout
    for name in ("truncated", "not an image", "PNG named .jpg", "Thumbs.db"):
        assert name in proc.stdout, name
    out = pd.read_csv(tmp_path / "o.csv", dtype={"Index": str})
    assert out["Index"].tolist() == ids and not out.isna().any().any()

    (data / "test.csv").unlink()                                   # no CSV: ids from the file names, sorted
    proc = run("test.py", "--data_dir", data, "--weights_dir", weights, "--out", tmp_path / "o2.csv",
               "--num_workers", 0)
    got = pd.read_csv(tmp_path / "o2.csv", dtype={"Index": str})["Index"].tolist()
    assert got == sorted([i for i in ids if i != ids[1]], key=int)


def test_clear_errors_without_traceback(tmp_path, demo):
    cases = [
        ("test.py", ["--data_dir", demo / "test_set", "--weights_dir", tmp_path / "nothing"], "weights folder"),
        ("test.py", ["--data_dir", tmp_path / "no_such", "--weights_dir", tmp_path], "no trained folds"),
        ("train.py", ["--data_dir", tmp_path / "no_such", "--fold", "0", "--weights_dir", tmp_path / "w"],
         "data folder not found"),
        ("train.py", ["--data_dir", demo / "train_set", "--fold", "9", "--weights_dir", tmp_path / "w"],
         "--fold must be"),
        ("evaluate.py", ["--pred", tmp_path / "none.csv", "--gt", demo / "groundtruth.csv"], "not found"),
    ]
    for script, args, needle in cases:
        proc = run(script, *args, check=False)
        assert proc.returncode == 2, (script, args, proc.stdout, proc.stderr)
        assert needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_existing_run_is_never_overwritten(trained, demo, tmp_path):
    weights = shutil.copytree(trained[0], tmp_path / "weights")        # --resume may write into the run
    proc = run("train.py", "--data_dir", demo / "train_set", "--fold", "0", "--weights_dir", weights,
               "--n_folds", "3", check=False)
    assert proc.returncode == 2 and "--resume" in proc.stderr
    proc = run("train.py", "--data_dir", demo / "train_set", "--fold", "all", "--weights_dir", weights,
               "--n_folds", "3", "--resume", "--device", "cpu")
    assert proc.stdout.count("already finished") == 3
