"""The files of a lesions task's output ({lesion}/{id}.png maps, grades.csv): the self-check of what test.py
wrote, and evaluate.py's scores of a prediction folder against a truth folder laid out the same way (truth maps
0/255; an absent truth file or folder means none of that lesion)."""
import logging

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from ..metrics import pixels as PM
from ..readers.images import header_size
from ..readers.masks import covered, read, threshold_of
from ..readers.tables import check_columns, numeric, read_scoring_table
from ..utilities.errors import UserError

log = logging.getLogger("harness")


def check_written(out, samples, cols, grade_cols, id_col):
    """Every image has a map per lesion at its own size, and grades.csv (when written) one row per id in test.csv
    order whose probabilities sum to 1; a UserError naming the first problem otherwise."""
    for i, sid in enumerate(samples.ids):
        image = samples.paths[i][0]
        size = header_size(image) if image is not None else None
        for c in cols:
            written = header_size(out / c / f"{sid}.png") if (out / c / f"{sid}.png").is_file() else None
            if written is None or (size is not None and written != size):
                raise UserError(f"self-check failed: {out / c / f'{sid}.png'} is missing or not at its image's size")
    if grade_cols:
        frame = pd.read_csv(out / "grades.csv", dtype={id_col: str})
        if frame[id_col].tolist() != list(samples.ids) or list(frame.columns) != [id_col] + grade_cols:
            raise UserError(f"self-check failed: {out / 'grades.csv'} does not hold one row per test.csv id, in order")
        if not np.allclose(frame[grade_cols].sum(1), 1.0, atol=1e-3):
            raise UserError(f"self-check failed: the grade probabilities of {out / 'grades.csv'} do not sum to 1")


def truth_ids(gt, pred, cols, id_col):
    """(ids to score, the truth grades table or None): grades.csv of the truth folder, else the predicted maps."""
    if (gt / "grades.csv").is_file():
        frame = read_scoring_table(gt / "grades.csv", "ground-truth", id_col)      # ids: stripped text
        ids = frame[id_col]
        if ids.duplicated().any():
            raise UserError(f"ground truth {gt / 'grades.csv'}: duplicate {id_col} values "
                            f"{ids[ids.duplicated()].unique().tolist()[:5]}")
        return ids.tolist(), frame
    ids = sorted(p.stem for p in (pred / cols[0]).glob("*.png"))
    if not ids:
        raise UserError(f"nothing to score: no {gt / 'grades.csv'} and no maps in {pred / cols[0]}")
    return ids, None


def image_histograms(pred, gt, ids, cols, threshold=0):
    """(n, M, 2, 256) level histograms of every predicted map against its truth (foreground: stored values
    above ``threshold``, masks.py)."""
    hists = np.zeros((len(ids), len(cols), 2, PM.LEVELS), np.int64)
    for i, sid in enumerate(tqdm(ids, desc="scoring maps", leave=False, disable=None)):
        for j, c in enumerate(cols):
            path, truth_path = pred / c / f"{sid}.png", gt / c / f"{sid}.png"
            level = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) if path.is_file() else None
            if level is None:
                raise UserError(f"prediction {path} is missing or unreadable (test.py writes one map per lesion "
                                "and image)")
            truth = read(truth_path, threshold) if truth_path.is_file() else np.zeros_like(level)
            if truth is None or truth.shape != level.shape:
                got = "unreadable" if truth is None else f"{truth.shape[1]}x{truth.shape[0]}"
                raise UserError(f"{path} is {level.shape[1]}x{level.shape[0]} px but its truth {truth_path} is {got}")
            hists[i, j] = PM.histograms(level[None, None], covered(truth)[None, None])[0, 0]
    return hists


def evaluate_folders(pred, gt, kind, n_boot, plots):
    """Per lesion AUPR, Dice and IoU over all pixels of all images (with a bootstrap interval of the mean AUPR
    over images), and the grade's quadratic kappa and AUROC when both folders hold grades.csv; printed."""
    cols, id_col = kind.cols, kind.cfg["data"]["id_column"]
    for path, what in ((pred, "prediction"), (gt, "ground truth")):
        if not path.is_dir():
            raise UserError(f"{what} {path} is not a folder: a lesions task is scored from folders of "
                            f"{{lesion}}/{{id}}.png maps (and grades.csv), as test.py writes them")
    ids, truth = truth_ids(gt, pred, cols, id_col)
    hists = image_histograms(pred, gt, ids, cols, threshold_of(kind.cfg))
    scores = PM.lesion_scores(hists, cols)
    mean = PM.mean_aupr(hists)
    lo, hi = PM.bootstrap_mean_aupr(hists, n_boot)
    rep = dict(n=len(ids), mean_lesion_aupr=mean, mean_lesion_aupr_ci95=[lo, hi], lesions=scores)
    print(f"mean lesion AUPR (pixels of all {len(ids)} images): {mean:.4f}  95% CI [{lo:.4f}, {hi:.4f}]")
    for c, s in scores.items():
        print(f"  {c:<4} AUPR {s['aupr']:.4f}  Dice {s['dice']:.4f}  IoU {s['iou']:.4f}  "
              f"lesion pixels {s['prevalence']:.5f}")
    if truth is not None and kind.grade_col in truth.columns and not (pred / "grades.csv").is_file():
        log.warning("the truth has grades but %s has no grades.csv (trained without the grade head?): the grade "
                    "is not scored", pred)
    elif truth is not None and kind.grade_col in truth.columns:
        frame = read_scoring_table(pred / "grades.csv", "prediction", id_col)
        check_columns(frame, [id_col] + kind.grade_cols, pred / "grades.csv", "prediction")
        if frame[id_col].astype(str).str.strip().tolist() != ids:
            raise UserError(f"{pred / 'grades.csv'} does not list the ids of {gt / 'grades.csv'} in the same order")
        grades = pd.to_numeric(truth[kind.grade_col], errors="coerce").to_numpy()
        if not np.isin(grades, np.arange(kind.n_grades)).all():
            raise UserError(f"ground truth {gt / 'grades.csv'}: {kind.grade_col} must be 0..{kind.n_grades - 1}")
        rep["grade"] = PM.grade_scores(grades, numeric(frame, kind.grade_cols, pred / "grades.csv", "prediction"))
        print(f"grade: quadratic-weighted kappa {rep['grade']['kappa']:.4f}  one-vs-rest AUROC "
              f"{rep['grade']['auroc']:.4f}")
    if plots:
        from ..metrics.figures import pr_curves
        total = hists.sum(0)
        curves = {c: (*PM.pr_curve(total[j]), scores[c]["aupr"]) for j, c in enumerate(cols)}
        plots.mkdir(parents=True, exist_ok=True)
        print(f"plots: {pr_curves(curves, plots, f'{pred.name}, {len(ids)} images')}")
    return rep
