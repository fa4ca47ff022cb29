"""evaluate(): the organizers' numbers for a prediction table against the truth, computed their way, and the
fuller picture beside them (by the task's kind). evaluate.py parses its options and calls it."""
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import config as C
from .errors import UserError
from .io_utils import atomic_write_text
from .kinds import kind_of

log = logging.getLogger("harness")


def read_table(path, what, id_col):
    try:
        df = pd.read_csv(path, dtype={id_col: str})
    except FileNotFoundError:
        raise UserError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{what} path {path} is a folder, not a CSV file") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{what} file {path} is not a readable CSV: {str(exc).splitlines()[0][:200]}") from None
    if len(df.columns) == 1 and any(sep in str(df.columns[0]) for sep in ";\t|"):
        raise UserError(f"{what} file {path} is not comma-separated (its header is '{str(df.columns[0])[:60]}')")
    if df.empty:
        raise UserError(f"{what} file {path} has a header but no rows")
    return df


def numeric(df, cols, path, what):
    values = df[cols].apply(pd.to_numeric, errors="coerce")
    nan = values.isna().to_numpy()
    if nan.any():
        r, c = np.argwhere(nan)[0]
        raise UserError(f"{what} {path}: {int(nan.sum())} empty or non-numeric cells, first at row {r + 2} "
                        f"column {cols[c]} ('{df[cols[c]].iloc[r]}')")
    arr = values.to_numpy(float)
    if (arr < 0).any() or (arr > 1).any():
        raise UserError(f"{what} {path}: values outside [0, 1]")
    return arr


def check_columns(df, expected, path, what):
    missing = [c for c in expected if c not in df.columns]
    extra = [c for c in df.columns if c not in expected]
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
        raise UserError(f"{what} {path}: {'; '.join(parts)} (expected: {', '.join(expected)})")


def evaluate(pred="output.csv", gt="groundtruth.csv", config=None, n_boot=1000, json_path=None, plots=None):
    """Score the prediction CSV ``pred`` against ``gt`` (rows matched by position, columns by name); prints the
    scores and returns them as a dict. json_path: also write them there; plots: a folder for roc.png and
    calibration.png."""
    if plots and Path(plots).exists() and not Path(plots).is_dir():
        raise UserError(f"--plots {plots} is a file; give a folder for roc.png and calibration.png")
    cfg = C.load_config(config)
    kind = kind_of(cfg)
    id_col, cols = cfg["data"]["id_column"], C.target_columns(cfg)
    gt_df = read_table(gt, "ground-truth", id_col)
    pred_df = read_table(pred, "prediction", id_col)
    check_columns(gt_df, [id_col] + cols, gt, "ground truth")
    check_columns(pred_df, [id_col] + cols, pred, "prediction")
    for df, path, what in ((gt_df, gt, "ground truth"), (pred_df, pred, "prediction")):
        dup = df[id_col][df[id_col].duplicated()].unique().tolist()
        if dup:
            raise UserError(f"{what} {path}: duplicate {id_col} values {dup[:5]}")
    if len(gt_df) != len(pred_df):
        raise UserError(f"{pred} has {len(pred_df)} rows but {gt} has {len(gt_df)}; rows are matched by position")
    y = numeric(gt_df, cols, gt, "ground truth")
    p = numeric(pred_df, cols, pred, "prediction")
    if not np.isin(y, [0, 1]).all():
        raise UserError(f"ground truth {gt}: labels must be 0 or 1")
    if pred_df[id_col].astype(str).str.strip().tolist() != gt_df[id_col].astype(str).str.strip().tolist():
        log.warning("WARNING: the %s order of %s differs from %s; the organizers match rows BY POSITION, "
                    "so these scores pair rows by position too", id_col, pred, gt)
    rep = kind.score(y, p, n_boot, pred, gt)
    if json_path:
        atomic_write_text(json_path, json.dumps(rep, indent=2))
    if plots:
        paths = kind.evaluation_plots(y, p, Path(plots), Path(pred).name)
        print(f"plots: {', '.join(str(x) for x in paths)}")
    return rep
