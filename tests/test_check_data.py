"""The data check, standalone and as train.py/test.py run it, on a battery of broken folders."""
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import run
from src.data.check import check, file_problem, load_checked
from src.data.discover import discover
from src.utilities import config as C
from src.utilities.errors import UserError

CFG = C.load_config()
VIEWS = C.views(CFG)
COLS = C.target_columns(CFG)


def make(folder, ids, csv="train.csv", labels=None, size=400):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for sid in ids:
        for v in VIEWS:
            cv2.imwrite(str(folder / f"{sid}{v}.jpg"), rng.integers(0, 255, (size, size), dtype=np.uint8))
    frame = pd.DataFrame({"Index": ids, **{c: 0 for c in COLS}})
    if labels is not None:
        frame[COLS] = labels
    frame.to_csv(folder / csv, index=False)
    return folder


def problems_of(folder, split="train", img_size=384):
    found = check(discover(folder, CFG, split), CFG, split, img_size=img_size)
    return {p.what: p for p in found}


def find(problems, needle):
    hits = [p for what, p in problems.items() if needle in what]
    assert hits, f"no problem mentioning {needle!r} in {list(problems)}"
    return hits[0]


def test_a_clean_folder_has_no_problems(tmp_path):
    assert problems_of(make(tmp_path / "d", ["1", "2"])) == {}


def test_every_kind_of_file_problem_is_named_with_its_files(tmp_path):
    d = make(tmp_path / "d", ["1", "2", "3", "4"], csv="test.csv")
    (d / "1LI-A.jpg").unlink()                                                  # missing view
    (d / "1LI-B.jpg").write_bytes(b"")                                           # zero-byte
    data = (d / "2LV-A.jpg").read_bytes()
    (d / "2LV-A.jpg").write_bytes(data[: len(data) // 2])                        # truncated
    (d / "2LV-B.jpg").write_text("hello, not an image")                          # text named .jpg
    ok, png = cv2.imencode(".png", np.full((400, 400), 128, np.uint8))
    (d / "3RI-A.jpg").write_bytes(png.tobytes())                                 # a PNG named .jpg, near-blank
    cv2.imwrite(str(d / "3RI-B.jpg"), np.random.default_rng(1).integers(0, 255, (60, 60), dtype=np.uint8))
    for v in VIEWS:
        (d / f"4{v}.jpg").unlink()                                               # an id with no image at all
    cv2.imwrite(str(d / "99LI-A.jpg"), np.zeros((10, 10), np.uint8))            # a file without a row
    (d / "Thumbs.db").write_bytes(b"\0")
    (d / "notes.txt").write_text("x")
    pr = problems_of(d, "test")
    assert "1: LI-A LI-B" in find(pr, "missing views").items
    assert find(pr, "empty").items == ["1LI-B.jpg"]
    assert find(pr, "truncated").items == ["2LV-A.jpg"]
    assert find(pr, "not an image").items == ["2LV-B.jpg"]
    assert find(pr, "PNG named .jpg").items == ["3RI-A.jpg"]
    assert find(pr, "near-blank").items == ["3RI-A.jpg"]
    assert find(pr, "far smaller").items == ["3RI-B.jpg (60 px)"]
    assert find(pr, "NO usable image").items == ["4"]
    assert find(pr, "without a row").items == ["99LI-A.jpg"]
    assert find(pr, "other files").items == ["Thumbs.db", "notes.txt"]
    assert all(p.severity == "warning" for p in pr.values())


def test_label_and_id_errors_stop_training_with_one_line(tmp_path):
    y = np.zeros((3, len(COLS)), int)
    y[0, COLS.index("L_MCA")] = 1                  # location without Aneurysm
    y[1, 0] = 1                                     # Aneurysm without location
    d = make(tmp_path / "d", ["1", "2", "3"], labels=y)
    pr = problems_of(d)
    assert find(pr, "Aneurysm = 0 with a location").items == ["1"]
    assert find(pr, "Aneurysm = 1 with no location").items == ["2"]
    frame = pd.read_csv(d / "train.csv", dtype=str)
    frame.loc[2, "BA"] = "2"
    frame.loc[1, "R_VA"] = "yes"
    frame = pd.concat([frame, frame.iloc[[0]]])
    frame.to_csv(d / "train.csv", index=False)
    pr = problems_of(d)
    assert find(pr, "outside {0, 1}").severity == "error"
    assert sorted(find(pr, "outside {0, 1}").items) == ["2/R_VA='yes'", "3/BA='2'"]
    assert find(pr, "duplicate Index").items == ["1"]
    with pytest.raises(UserError, match="check_data"):
        load_checked(d, CFG, "train", decode=False)


def test_ids_cannot_reach_outside_the_data_folder(tmp_path):
    d = make(tmp_path / "data", ["1"], csv="test.csv")
    outside = tmp_path / "secretLI-A.jpg"
    shutil.copy(d / "1LI-A.jpg", outside)
    pd.DataFrame({"Index": ["../secret", "1"], **{c: 0 for c in COLS}}).to_csv(d / "test.csv", index=False)
    s = discover(d, CFG, "test")
    assert all(p is None for p in s.paths[0])          # looked up among the folder's own files only
    assert all(p is not None and p.parent == d for p in s.paths[1])


def test_file_problem_reads_content_not_names(tmp_path):
    ok, jpg = cv2.imencode(".jpg", np.zeros((20, 20), np.uint8))
    (tmp_path / "a.png").write_bytes(jpg.tobytes())
    (tmp_path / "b.JPG").write_bytes(jpg.tobytes())
    assert file_problem(tmp_path / "a.png") == "a JPEG named .png"
    assert file_problem(tmp_path / "b.JPG") is None


def test_standalone_check_exit_codes(tmp_path):
    good = make(tmp_path / "good", ["1", "2"])
    proc = run("src.check_data", "--data_dir", good)
    assert "no problems" in proc.stdout
    frame = pd.read_csv(good / "train.csv")
    frame.loc[0, "Aneurysm"] = 7
    frame.to_csv(good / "train.csv", index=False)
    proc = run("src.check_data", "--data_dir", good, check=False)
    assert proc.returncode == 2 and "outside {0, 1}" in proc.stdout
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error:")
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run("src.check_data", "--data_dir", empty, check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
