"""evaluate.py's refusals and warnings; the shape and order of test.py's output table."""
import numpy as np
import pandas as pd
import pytest

from conftest import run
from src.data.discover import Samples
from src.tasks import kind_of
from src.tasks.base import PredictionRun
from src.tasks.output import output_frame, self_check
from src.utilities import config as C
from src.utilities.errors import UserError

CFG = C.load_config()
COLS = C.target_columns(CFG)


def tables(n=12, seed=0):
    rng = np.random.default_rng(seed)
    gt = pd.DataFrame({"Index": np.arange(100, 100 + n), **{c: 0 for c in COLS}})
    gt["Aneurysm"] = np.arange(n) % 2
    gt.loc[gt.Aneurysm == 1, "L_MCA"] = 1
    pred = gt.copy()
    pred["Aneurysm"] = np.clip(gt["Aneurysm"] * 0.5 + rng.random(n) * 0.6, 0, 1).round(4)
    return gt, pred


@pytest.mark.parametrize("mutate,needle", [
    (lambda p: p.iloc[:-1], "rows"),
    (lambda p: p.drop(columns=["R_MCA"]), "missing ['R_MCA']"),
    (lambda p: p.assign(extra=1), "unexpected ['extra']"),
    (lambda p: p.rename(columns={"BA": "Ba"}), "missing ['BA']"),
    (lambda p: p.assign(Aneurysm=np.nan), "non-numeric"),
    (lambda p: p.assign(Aneurysm="high"), "non-numeric"),
    (lambda p: p.assign(Aneurysm=1.5), "outside [0, 1]"),
])
def test_evaluate_refuses_malformed_predictions(tmp_path, mutate, needle):
    gt, pred = tables()
    gt.to_csv(tmp_path / "groundtruth.csv", index=False)
    mutate(pred).to_csv(tmp_path / "output.csv", index=False)
    proc = run("evaluate.py", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_evaluate_warns_on_reordered_rows_and_scores_by_position(tmp_path):
    gt, pred = tables()
    gt.to_csv(tmp_path / "groundtruth.csv", index=False)
    pred.iloc[::-1].to_csv(tmp_path / "output.csv", index=False)
    proc = run("evaluate.py", "--n_boot", 0, cwd=tmp_path)
    assert "BY POSITION" in proc.stdout
    from sklearn.metrics import roc_auc_score
    expected = roc_auc_score(gt["Aneurysm"], pred["Aneurysm"].iloc[::-1].to_numpy())
    assert f"Aneurysm AUROC: {expected:.4f}" in proc.stdout


def test_evaluate_refuses_one_class_truth(tmp_path):
    gt, pred = tables()
    gt["Aneurysm"] = 0
    gt.to_csv(tmp_path / "groundtruth.csv", index=False)
    pred.to_csv(tmp_path / "output.csv", index=False)
    proc = run("evaluate.py", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "one class" in proc.stderr


def test_output_frame_keeps_csv_order_and_task_columns(tmp_path):
    ids = ["30", "4", "1000", "7"]
    frame = pd.DataFrame({"Index": ids, **{c: 0 for c in reversed(COLS)}, "Notes": "x"})
    samples = Samples(ids=ids, paths=[[None] * 8] * 4, frame=frame)
    probs = np.full((4, len(COLS)), 0.2)
    probs[1, COLS.index("R_ICA")] = 0.9
    run = PredictionRun([], [{"thresholds": {c: 0.5 for c in COLS[1:]}}], samples, tmp_path, None, 0)
    out = output_frame(samples, CFG, kind_of(CFG).output_values(run, probs))
    assert list(out.columns) == ["Index"] + COLS
    assert out["Index"].tolist() == ids
    assert out["R_ICA"].tolist() == [0, 1, 0, 0] and out["Aneurysm"].tolist() == [0.2] * 4
    out.to_csv(tmp_path / "o.csv", index=False)
    self_check(tmp_path / "o.csv", ids, CFG)
    with pytest.raises(UserError, match="rows differ"):
        self_check(tmp_path / "o.csv", ids[::-1], CFG)


@pytest.mark.parametrize("text,needle", [
    ("", "not a readable CSV"),
    (";".join(["Index"] + COLS) + "\n1;" + ";".join(["0"] * len(COLS)) + "\n", "not comma-separated"),
    (",".join(["Index"] + COLS) + "\n", "no rows"),
    (",".join(["Index"] + COLS) + "\n" + ("7," + ",".join(["0"] * len(COLS)) + "\n") * 12, "duplicate Index"),
])
def test_evaluate_refuses_broken_files(tmp_path, text, needle):
    gt, _ = tables()
    gt.to_csv(tmp_path / "groundtruth.csv", index=False)
    (tmp_path / "output.csv").write_text(text)
    proc = run("evaluate.py", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
