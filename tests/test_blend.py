"""Ensembles of runs: chosen on out-of-fold predictions (src.tools.experiments.blend) and shipped as one weights
folder that test.py, pre-flight and pack take as they take a single run."""
import json
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

from conftest import run, shared
from src.inference.blend import combine


@pytest.fixture(scope="session")
def second(trained, demo, tmp_path_factory):
    """Another run over the trained fixture's folds.csv: another backbone and image size (read-only)."""
    def build(weights):
        shutil.copy(trained[0] / "folds.csv", weights / "folds.csv")
        run("train.py", "--data_dir", demo / "train_set", "--fold", "all", "--weights_dir", weights, "--model",
            "test_resnet", "--img_size", 48, "--epochs", 3, "--batch_size", 8, "--lr", 0.003, "--n_folds", 3,
            "--num_workers", 0, "--device", "cpu", "--no_cache", "--restarts", 0, "--no_pretrained")

    return shared(tmp_path_factory, "second", build)[0]


def test_combine_weights_and_ranks():
    a, b = np.array([[0.1], [0.9], [0.5]]), np.array([[0.3], [0.2], [0.1]])
    assert np.allclose(combine([a, b], [3, 1]), 0.75 * a + 0.25 * b)
    assert np.array_equal(combine([a], [7]), a)                                  # one member: itself, exactly
    assert np.allclose(combine([a, b], [1, 1], "rank"), [[(1 / 3 + 1) / 2], [(1 + 2 / 3) / 2], [(2 / 3 + 1 / 3) / 2]])


def test_two_runs_blend_into_one_weights_folder_that_test_py_pack_and_the_organizer_run(trained, second, demo,
                                                                                      tmp_path):
    ens = tmp_path / "weights_ensemble"
    proc = run("src.tools.experiments.blend", "--runs", trained[0], second, "--out", ens)
    for line in ("best single run:", "nested estimate:", "constant prediction (all zeros): 0.5000"):
        assert line in proc.stdout
    manifest = json.loads((ens / "ensemble.json").read_text())
    assert abs(sum(m["weight"] for m in manifest["members"]) - 1) < 1e-6
    assert (ens / "folds.csv").read_bytes() == (trained[0] / "folds.csv").read_bytes()
    assert "location_thresholds" in json.loads((ens / "cv_summary.json").read_text())

    both = tmp_path / "both"                                  # the two runs, whatever the selection kept
    shutil.copytree(ens, both)
    two = [dict(name="a", weight=0.5, backbone="test_efficientnet", img_size=64),
           dict(name="b", weight=0.5, backbone="test_resnet", img_size=48)]
    for name, src in (("a", trained[0]), ("b", second)):
        shutil.rmtree(both / "members" / name, ignore_errors=True)
        for k in range(3):
            (both / "members" / name / f"fold_{k}").mkdir(parents=True)
            shutil.copy(src / f"fold_{k}" / "best.pt", both / "members" / name / f"fold_{k}" / "best.pt")
    for old in manifest["members"]:
        if old["name"] not in ("a", "b"):
            shutil.rmtree(both / "members" / old["name"])
    (both / "ensemble.json").write_text(json.dumps(dict(manifest, members=two)))
    proc = run("test.py", "--data_dir", demo / "test_set", "--weights_dir", both, "--out", tmp_path / "out.csv",
               "--device", "cpu", "--num_workers", 0)
    log = proc.stdout + proc.stderr
    assert "member a (weight 0.500, test_efficientnet, 64 px" in log
    assert "member b (weight 0.500, test_resnet, 48 px" in log
    assert len(pd.read_csv(tmp_path / "out.csv")) == 60 and "self-check" in log

    proc = run("src.tools.submission.preflight", "--data_dir", demo / "test_set", "--gt", demo / "groundtruth.csv",
               "--weights_dir", both, check=False)
    assert proc.returncode == 0 and "pre-flight PASS" in proc.stdout, proc.stdout + proc.stderr
    run("src.tools.submission.pack", "--out", tmp_path / "submission.zip", "--weights_dir", both)
    with zipfile.ZipFile(tmp_path / "submission.zip") as z:
        names = z.namelist()
        z.extractall(tmp_path / "unpacked")
    shipped = {"weights/ensemble.json", "weights/members/a/fold_2/best.pt", "weights/members/b/fold_0/best.pt"}
    assert shipped <= set(names)
    organizer = tmp_path / "organizer"
    organizer.mkdir()
    run(str(tmp_path / "unpacked" / "test.py"), "--data_dir", demo / "test_set", "--num_workers", 0, cwd=organizer)
    assert np.allclose(pd.read_csv(organizer / "output.csv").iloc[:, 1:], pd.read_csv(tmp_path / "out.csv").iloc[:, 1:])


def test_one_member_ensemble_is_the_run_itself(trained, demo, tmp_path):
    run("src.tools.experiments.blend", "--runs", trained[0], "--out", tmp_path / "one")
    for weights, out in ((trained[0], "run.csv"), (tmp_path / "one", "one.csv")):
        run("test.py", "--data_dir", demo / "test_set", "--weights_dir", weights, "--out", tmp_path / out,
            "--device", "cpu", "--num_workers", 0)
    assert (tmp_path / "run.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_a_run_on_another_split_is_refused(trained, second, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(second, other, ignore=shutil.ignore_patterns("last.pt", "best.pt"))
    folds = pd.read_csv(other / "folds.csv", dtype={"id": str})
    first, moved = folds.index[folds["fold"] == 0][0], folds.index[folds["fold"] == 1][0]
    folds.loc[[first, moved], "fold"] = [1, 0]
    folds.to_csv(other / "folds.csv", index=False)
    proc = run("src.tools.experiments.blend", "--runs", trained[0], other, "--out", tmp_path / "ens", check=False)
    assert proc.returncode == 2 and f"{other} was trained on another folds.csv" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "ens").exists()
