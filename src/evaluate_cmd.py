"""`python evaluate.py`: the organizers' two numbers, computed their way, and the fuller picture beside them."""
import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import config as C
from . import targets as T
from .errors import UserError
from .io_utils import atomic_write_text
from .metrics import column_aucs, format_report, nanmean, score_report
from .runtime import setup_logging

log = logging.getLogger("harness")


def parser():
    p = argparse.ArgumentParser(
        description="Score output.csv against groundtruth.csv (rows matched by position, columns by name).",
        epilog="example:\n  python evaluate.py                       # output.csv and groundtruth.csv here\n"
               "  python evaluate.py --pred runs/output.csv --gt data/groundtruth.csv --json scores.json\n"
               "  python evaluate.py --plots plots       # also roc.png and calibration.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pred", default="output.csv", help="predictions (default: output.csv in the current folder)")
    p.add_argument("--gt", default="groundtruth.csv", help="truth (default: groundtruth.csv in the current folder)")
    p.add_argument("--config", help="task YAML or task name naming the columns (default: configs/kium.yaml)")
    p.add_argument("--n_boot", type=int, default=1000, help="bootstrap resamples for the AUROC interval (0: none)")
    p.add_argument("--json", help="also write every number to this JSON file")
    p.add_argument("--plots", metavar="DIR", help="also draw roc.png and calibration.png into this folder")
    return p


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


def main(argv=None):
    args = parser().parse_args(argv)
    setup_logging()
    if args.plots and Path(args.plots).exists() and not Path(args.plots).is_dir():
        raise UserError(f"--plots {args.plots} is a file; give a folder for roc.png and calibration.png")
    cfg = C.load_config(args.config)
    id_col, cols, prim = cfg["data"]["id_column"], C.target_columns(cfg), C.primary(cfg)
    gt = read_table(args.gt, "ground-truth", id_col)
    pred = read_table(args.pred, "prediction", id_col)
    check_columns(gt, [id_col] + cols, args.gt, "ground truth")
    check_columns(pred, [id_col] + cols, args.pred, "prediction")
    for df, path, what in ((gt, args.gt, "ground truth"), (pred, args.pred, "prediction")):
        dup = df[id_col][df[id_col].duplicated()].unique().tolist()
        if dup:
            raise UserError(f"{what} {path}: duplicate {id_col} values {dup[:5]}")
    if len(gt) != len(pred):
        raise UserError(f"{args.pred} has {len(pred)} rows but {args.gt} has {len(gt)}; rows are matched by position")
    y = numeric(gt, cols, args.gt, "ground truth")
    p = numeric(pred, cols, args.pred, "prediction")
    if not np.isin(y, [0, 1]).all():
        raise UserError(f"ground truth {args.gt}: labels must be 0 or 1")
    if pred[id_col].astype(str).str.strip().tolist() != gt[id_col].astype(str).str.strip().tolist():
        log.warning("WARNING: the %s order of %s differs from %s; the organizers match rows BY POSITION, "
                    "so these scores pair rows by position too", id_col, args.pred, args.gt)
    if T.kind(cfg) == "multiclass":
        rep = multiclass_report(y, p, cols, args.n_boot)
    else:
        rep = binary_report(y, p, cols, prim, args)
    if args.json:
        atomic_write_text(args.json, json.dumps(rep, indent=2))
    if args.plots:
        from .plots import evaluation_plots  # matplotlib only when pictures are asked for

        paths = evaluation_plots(y, p, cols, prim, Path(args.plots), T.kind(cfg), Path(args.pred).name)
        print(f"plots: {', '.join(str(x) for x in paths)}")
    return 0


def multiclass_report(y, p, cols, n_boot):
    """One-vs-rest ROC AUC per class (the grade columns), their mean, and the accuracy of the arg-max."""
    if not (y.sum(1) == 1).all():
        raise UserError("ground truth: each row must have exactly one class set to 1")
    aucs = column_aucs(y, p, cols)
    mean = nanmean(aucs.values())
    rep = dict(n=int(len(y)), aucs=aucs, mean_auc=mean, accuracy=float((p.argmax(1) == y.argmax(1)).mean()),
               prevalence={c: float(y[:, j].mean()) for j, c in enumerate(cols)})
    print(f"mean one-vs-rest AUROC: {mean:.4f}")
    for c, a in aucs.items():
        print(f"  {c:<10} AUROC {a:.4f}  prevalence {rep['prevalence'][c]:.3f}")
    print(f"accuracy (arg-max): {rep['accuracy']:.4f}  (majority-class baseline {max(rep['prevalence'].values()):.4f})")
    return rep


def binary_report(y, p, cols, prim, args):
    if np.unique(y[:, cols.index(prim)]).size < 2:
        raise UserError(f"ground truth {args.gt}: '{prim}' holds one class only, so its AUROC is undefined")
    locs = [j for j, c in enumerate(cols) if c != prim]
    if not np.isin(p[:, locs], [0, 1]).all():
        log.warning("location columns hold values other than 0/1; the organizers' accuracy expects 0/1 labels")
    rep = score_report(y, p, cols, prim, n_boot=args.n_boot)
    print(f"{prim} AUROC: {rep['primary_auc']:.4f}")
    print(f"location accuracy: {rep['location_accuracy']:.4f}")
    print(format_report(rep, f"details ({args.pred} vs {args.gt}):"))
    return rep
