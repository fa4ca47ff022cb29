"""Pre-flight runs the submission as an organizer would and catches what breaks there; pack ships only
what passed."""
import json
import shutil
import zipfile

import pandas as pd

from conftest import ROOT, run


def project_copy(dest):
    dest.mkdir()
    for name in ("train.py", "test.py", "evaluate.py", "requirements.txt", "SUBMISSION.md", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "configs", dest / "configs")
    return dest


def patch(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def weights_copy(trained, tmp_path):
    """The shared trained run, copied: pre-flight writes its verdict (preflight.json) into the weights folder."""
    return shutil.copytree(trained[0], tmp_path / "weights")


def preflight(demo, weights, root=None):
    extra = ["--root", root] if root else []
    return run("src.tools.submission.preflight", "--data_dir", demo / "test_set", "--gt", demo / "groundtruth.csv",
               "--weights_dir", weights, *extra, check=False)


def test_preflight_passes_then_pack_ships_a_runnable_zip(trained, demo, tmp_path):
    weights = weights_copy(trained, tmp_path)
    proc = run("src.tools.submission.pack", "--out", tmp_path / "no.zip", "--weights_dir", weights, check=False)
    assert proc.returncode == 2 and "pre-flight" in proc.stderr                  # refuses before pre-flight
    proc = preflight(demo, weights)
    assert proc.returncode == 0 and "pre-flight PASS" in proc.stdout, proc.stdout + proc.stderr
    assert "Aneurysm AUROC" in proc.stdout
    assert json.loads((weights / "preflight.json").read_text())["verdict"] == "PASS"
    run("src.tools.submission.pack", "--out", tmp_path / "submission.zip", "--weights_dir", weights)
    with zipfile.ZipFile(tmp_path / "submission.zip") as z:
        names = z.namelist()
        manifest = json.loads(z.read("MANIFEST.json"))
        z.extractall(tmp_path / "unpacked")
    assert "weights/fold_0/best.pt" in names and "test.py" in names and "requirements.txt" in names
    assert not any(n.endswith(("last.pt", "train.log", ".npy", ".jpg")) for n in names)
    # the core package ships (with its task kinds); the developer tools do not
    assert "src/inference/predict.py" in names and "src/tasks/binary.py" in names
    assert not [n for n in names if n.startswith("src/tools/")]
    assert {f["path"] for f in manifest["files"]} == set(names) - {"MANIFEST.json"}
    assert manifest["cv_scores"]["n_folds"] == 3 and "torch" in manifest["packages"]
    organizer = tmp_path / "organizer"
    organizer.mkdir()
    run(str(tmp_path / "unpacked" / "test.py"), "--data_dir", demo / "test_set", "--num_workers", 0, cwd=organizer)
    assert len(pd.read_csv(organizer / "output.csv")) == 60
    (weights / "fold_0" / "best.pt").write_bytes((weights / "fold_1" / "best.pt").read_bytes())
    proc = run("src.tools.submission.pack", "--out", tmp_path / "changed.zip", "--weights_dir", weights, check=False)
    assert proc.returncode == 2 and "changed since pre-flight" in proc.stderr


def test_preflight_catches_a_hard_coded_path(trained, demo, tmp_path):
    secret = tmp_path / "author_machine" / "settings.txt"
    secret.parent.mkdir()
    secret.write_text("0.5")
    root = project_copy(tmp_path / "proj")
    patch(root / "src" / "predict_cmd.py", "    args = parser().parse_args(argv)\n",
          f"    args = parser().parse_args(argv)\n    open({str(secret)!r}).read()\n")
    proc = preflight(demo, weights_copy(trained, tmp_path), root)
    assert proc.returncode == 1 and "outside the submission" in proc.stdout and str(secret) in proc.stdout


def test_preflight_catches_an_unpinned_import(trained, demo, tmp_path):
    root = project_copy(tmp_path / "proj")
    patch(root / "requirements.txt", "PyYAML==6.0.3\n", "")
    proc = preflight(demo, weights_copy(trained, tmp_path), root)
    assert proc.returncode == 1 and "not pinned" in proc.stdout and "yaml (PyYAML)" in proc.stdout


def test_preflight_catches_rows_in_the_wrong_order(trained, demo, tmp_path):
    root = project_copy(tmp_path / "proj")
    patch(root / "src" / "tasks" / "output.py", "    atomic_write_csv(frame, out)\n    self_check(",
          "    atomic_write_csv(frame.iloc[::-1], out)\n    (")
    proc = preflight(demo, weights_copy(trained, tmp_path), root)
    assert proc.returncode == 1 and "order" in proc.stdout, proc.stdout
