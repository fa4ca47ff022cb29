"""Files from the field (issue 24): written files other accounts can read (umask, modes kept on rewrite, the
submission zip), and tables from spreadsheets and other locales (encodings, separators, decimal commas, blank
rows, files that are no table at all), through the real scripts where a user meets them."""
import json
import logging
import os
import stat
import zipfile

os.umask(0o022)   # the usual umask for the whole session, set at collection (before the shared trained fixture
                  # trains): every mode asserted here is what it decides (0644), and mkstemp's 0600 would fail

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from conftest import run  # noqa: E402
from src.data.discover import discover  # noqa: E402
from src.readers.tables import read_table  # noqa: E402
from src.tasks.output import output_problems  # noqa: E402
from src.utilities import config as C  # noqa: E402
from src.utilities.errors import UserError  # noqa: E402
from src.utilities.files import atomic_write_text, keep_previous  # noqa: E402

CFG = C.load_config()
COLS = C.target_columns(CFG)
N = 6                                   # test rows per folder: enough to see order, cheap to predict


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def subset(demo, folder, n=N):
    """A test folder holding the images of the first n test ids of the demo (links), ids in reverse order."""
    ids = pd.read_csv(demo / "test_set" / "test.csv", dtype={"Index": str})["Index"].tolist()[:n][::-1]
    folder.mkdir(parents=True)
    for sid in ids:
        for view in C.views(CFG):
            (folder / f"{sid}{view}.jpg").symlink_to(demo / "test_set" / f"{sid}{view}.jpg")
    return ids


def cp949(ids):            # a Korean spreadsheet program's CSV (the id column plain, a Korean note beside it)
    return ("Index,메모\n" + "".join(f"{sid},환자 {i}\n" for i, sid in enumerate(ids))).encode("cp949")


def utf16_tab(ids):        # a spreadsheet's "Unicode text": UTF-16 with a byte-order mark, tab-separated
    return ("Index\tNote\r\n" + "".join(f"{sid}\tok\r\n" for sid in ids) + "\t\r\n").encode("utf-16")


def semicolon(ids):        # a European locale: ';' between fields, decimal commas in the values
    return ("Index;Weight\n" + "".join(f"{sid};0,{i + 1}\n" for i, sid in enumerate(ids))).encode()


def blank_rows(ids):       # a spreadsheet export ending in rows of bare commas
    width = len(COLS) + 1
    return (",".join(["Index"] + COLS) + "\n" + "".join(sid + ",0" * len(COLS) + "\n" for sid in ids)
            + ("," * (width - 1) + "\n") * 3).encode()


@pytest.mark.parametrize("make,said,prior", [
    (cp949, "read as Korean cp949", None),
    (utf16_tab, "read as UTF-16, tab-separated", 0o644),
    (semicolon, "';'-separated, decimal commas", 0o640),
    (blank_rows, "3 row(s) without an Index are not samples", None),
], ids=["cp949", "utf16_tab_kept_0644", "semicolon_kept_0640", "blank_rows"])
def test_test_py_reads_the_test_csv_of_any_spreadsheet(trained, demo, tmp_path, make, said, prior):
    ids = subset(demo, tmp_path / "test_set")
    (tmp_path / "test_set" / "test.csv").write_bytes(make(ids))
    out = tmp_path / "output.csv"
    if prior is not None:                         # an existing output.csv keeps its mode when it is replaced
        out.write_text("old\n")
        out.chmod(prior)
    proc = run("test.py", "--data_dir", tmp_path / "test_set", "--weights_dir", trained[0], "--out", out,
               "--device", "cpu", "--num_workers", 0)
    assert said in proc.stdout, proc.stdout
    assert "self-check" in proc.stdout and "OK" in proc.stdout
    written = pd.read_csv(out, dtype={"Index": str})
    assert written["Index"].tolist() == ids and list(written.columns) == ["Index"] + COLS
    assert mode(out) == (prior or 0o644)
    if prior is not None:
        assert (tmp_path / "output.csv.bak").read_text() == "old\n" and mode(tmp_path / "output.csv.bak") == prior


@pytest.mark.parametrize("content,needle", [
    (bytes(range(256)) * 40, "it is binary data, not text"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "Excel .xlsx"),
])
def test_a_test_csv_that_is_no_table_is_one_plain_line(trained, demo, tmp_path, content, needle):
    subset(demo, tmp_path / "test_set", 2)
    (tmp_path / "test_set" / "test.csv").write_bytes(content)
    proc = run("test.py", "--data_dir", tmp_path / "test_set", "--weights_dir", trained[0], "--out",
               tmp_path / "output.csv", "--device", "cpu", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and needle in proc.stderr, proc.stderr
    assert not (tmp_path / "output.csv").exists()


def test_evaluate_reads_a_semicolon_truth_from_a_spreadsheet(tmp_path):
    rng = np.random.default_rng(3)
    gt = pd.DataFrame({"Index": [f"{i:03d}" for i in range(1, 13)], **{c: 0 for c in COLS}})
    gt["Aneurysm"] = np.arange(12) % 2
    pred = gt.copy()
    pred["Aneurysm"] = np.clip(gt["Aneurysm"] * 0.4 + rng.random(12) * 0.6, 0, 1).round(4)
    pred.to_csv(tmp_path / "output.csv", index=False)
    text = gt.to_csv(index=False, sep=";") + ";" * len(COLS) + "\n"          # and a blank row at the end
    (tmp_path / "groundtruth.csv").write_bytes(text.encode("utf-8-sig"))
    proc = run("evaluate.py", "--n_boot", 0, cwd=tmp_path)
    from sklearn.metrics import roc_auc_score
    assert f"Aneurysm AUROC: {roc_auc_score(gt['Aneurysm'], pred['Aneurysm']):.4f}" in proc.stdout, proc.stdout
    assert "UTF-8 with a byte-order mark, ';'-separated" in proc.stdout
    assert "1 row(s) without an Index" in proc.stdout and "BY POSITION" not in proc.stdout


def test_training_files_are_readable_by_other_accounts(trained):
    weights = trained[0]
    files = [weights / "folds.csv", weights / "cv_summary.json"] + [
        weights / "fold_0" / name for name in ("best.pt", "last.pt", "metrics.csv", "oof.csv", "config.yaml")]
    assert {str(p.relative_to(weights)): oct(mode(p)) for p in files} == {
        str(p.relative_to(weights)): oct(0o644) for p in files}


def test_the_zip_carries_ordinary_modes(trained, tmp_path):
    import shutil

    from src.tools.submission.files import fingerprint, submission_files
    weights = tmp_path / "weights"
    shutil.copytree(trained[0], weights, ignore=shutil.ignore_patterns("last.pt", "*.log"))
    (weights / "fold_0" / "best.pt").chmod(0o600)               # as the old atomic writes left them
    (weights / "cv_summary.json").chmod(0o700)                  # an executable keeps its x bits, for everyone
    marker = dict(verdict="PASS", fingerprint=fingerprint(submission_files(weights)))
    (weights / "preflight.json").write_text(json.dumps(marker))
    run("src.tools.submission.pack", "--out", tmp_path / "submission.zip", "--weights_dir", weights)
    assert mode(tmp_path / "submission.zip") == 0o644
    with zipfile.ZipFile(tmp_path / "submission.zip") as z:
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        assert z.read("weights/fold_0/best.pt") == (weights / "fold_0" / "best.pt").read_bytes()
    assert modes.pop("weights/cv_summary.json") == stat.S_IFREG | 0o755
    assert "MANIFEST.json" in modes and "weights/fold_0/best.pt" in modes
    assert {n: oct(m) for n, m in modes.items() if m != stat.S_IFREG | 0o644} == {}


def test_atomic_writes_take_the_umask_and_keep_an_existing_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "new.txt", "a")
        assert mode(tmp_path / "new.txt") == 0o640
        (tmp_path / "kept.txt").write_text("a")
        (tmp_path / "kept.txt").chmod(0o604)
        assert mode(keep_previous(tmp_path / "kept.txt")) == 0o604
        atomic_write_text(tmp_path / "kept.txt", "b")
        assert mode(tmp_path / "kept.txt") == 0o604 and (tmp_path / "kept.txt").read_text() == "b"
    finally:
        os.umask(old)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("data,expected", [
    ("Index,Score\n007,0.5\n010,1\n".encode(), (["007", "010"], [0.5, 1.0])),
    ("Index;Score\n007;0,25\n8;1\n".encode("cp1252"), (["007", "8"], [0.25, 1.0])),
    ("Index,Score,Note\n1,0.5,Müller\n2,0.7,café\n".encode("cp1252"), (["1", "2"], [0.5, 0.7])),
    ("Index\tScore\n1\t0.5\n".encode("utf-16-le"), (["1"], [0.5])),
    ("Index|Score\n 1 |0.5\nNA|\n".encode("utf-8-sig"), (["1"], [0.5])),
    ("Index,Score,,\n1,0.5,,\n,,,\n".encode(), (["1"], [0.5])),
])
def test_read_table_reads_what_spreadsheets_write(tmp_path, data, expected):
    (tmp_path / "t.csv").write_bytes(data)
    frame = read_table(tmp_path / "t.csv", "Index")
    assert list(frame.columns) == ["Index", "Score"] + (["Note"] if "Note" in frame else [])
    assert (frame["Index"].tolist(), frame["Score"].tolist()) == expected


@pytest.mark.parametrize("data,needle", [
    (b"", "is empty"),
    (b" \r\n\r\n", "only blank space"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "Excel .xls"),
    (b"id,Score\n1,2\n", "no 'Index' column (columns: id, Score)"),
])
def test_read_table_names_what_is_not_a_table(tmp_path, data, needle):
    (tmp_path / "t.csv").write_bytes(data)
    with pytest.raises(UserError) as err:
        read_table(tmp_path / "t.csv", "Index", "ground-truth file")
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_train_csv_blank_rows_are_no_samples(tmp_path, caplog):
    rows = [{"Index": str(i), **{c: i % 2 for c in COLS}} for i in (5, 3, 9)]
    text = pd.DataFrame(rows).to_csv(index=False) + "," * len(COLS) + "\n" + "nan" + "," * len(COLS) + "\n"
    (tmp_path / "train.csv").write_text(text)
    with caplog.at_level(logging.WARNING, logger="harness"):
        samples = discover(tmp_path, CFG, "train")
    assert samples.ids == ["5", "3", "9"] and samples.labels.shape == (3, len(COLS))
    assert [r.getMessage() for r in caplog.records if "without an Index" in r.getMessage()] == [
        "train.csv: 2 row(s) without an Index are not samples and are skipped (data rows 4, 5 of 5; blank rows "
        "of a spreadsheet export?)"]


@pytest.mark.parametrize("bad", ["", "nan", "NA"])
def test_the_self_check_refuses_an_id_that_is_no_id(bad):
    out = pd.DataFrame({"Index": ["1", bad], **{c: 0.0 for c in COLS}})
    assert any("without a real Index" in p for p in output_problems(out.replace({"": np.nan}), ["1", bad], CFG))
    assert output_problems(out.assign(Index=["1", "2"]), ["1", "2"], CFG) == []
