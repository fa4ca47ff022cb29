"""The cross-validation summary: out-of-fold scores of all folds and the thresholds test.py uses."""
import json
import logging

import numpy as np
import pandas as pd

from . import checkpoint as ckpt
from . import config as C
from . import targets as T
from .io_utils import atomic_write_text
from .metrics import apply_thresholds, auc, best_thresholds, column_aucs, format_report, nanmean, score_report

log = logging.getLogger("harness")
SUMMARY = "cv_summary.json"


def finished_folds(weights_dir, n_folds):
    done = []
    for k in range(n_folds):
        last, oof = weights_dir / f"fold_{k}" / "last.pt", weights_dir / f"fold_{k}" / "oof.csv"
        # mapped: the flag is read without reading the weights and optimizer state
        if last.is_file() and oof.is_file() and ckpt.load(last, mmap=True).get("finished"):
            done.append(k)
    return done


def summarize(weights_dir, cfg, n_folds):
    """Write and print cv_summary.json once every fold has finished; returns it (None before that)."""
    if len(finished_folds(weights_dir, n_folds)) < n_folds:
        return None
    summary, text = summarize_oof(read_oof(weights_dir, range(n_folds)), cfg)
    log.info("%s", text)
    atomic_write_text(weights_dir / SUMMARY, json.dumps(summary, indent=2))
    log.info("wrote %s", weights_dir / SUMMARY)
    return summary


def read_oof(weights_dir, folds):
    return pd.concat([pd.read_csv(weights_dir / f"fold_{k}" / "oof.csv", dtype={"id": str}) for k in folds],
                     ignore_index=True)


def summarize_oof(oof, cfg):
    """(CV summary, its printable text) of an out-of-fold table (any subset of folds), by task kind."""
    kind = {"binary": binary_summary, "multiclass": multiclass_summary, "segmentation": segmentation_summary}
    return kind[T.kind(cfg)](oof, cfg, oof["fold"].nunique())


def segmentation_summary(oof, cfg, n_folds):
    per_fold = oof.groupby("fold")[["dice", "iou"]].mean()
    summary = dict(n_folds=n_folds, oof_dice=float(oof["dice"].mean()), oof_iou=float(oof["iou"].mean()),
                   per_fold_dice=per_fold["dice"].tolist(), per_fold_iou=per_fold["iou"].tolist())
    text = (f"cross-validation summary ({n_folds} folds, out-of-fold masks): Dice {summary['oof_dice']:.4f}  "
            f"IoU {summary['oof_iou']:.4f}  per-fold Dice {' '.join(f'{d:.4f}' for d in per_fold['dice'])}")
    return summary, text


def multiclass_summary(oof, cfg, n_folds):
    cols = C.target_columns(cfg)
    y = oof[[f"{c}_true" for c in cols]].to_numpy(float)
    p = oof[cols].to_numpy(float)
    aucs = column_aucs(y, p, cols)
    fold = oof["fold"].to_numpy()
    per_fold = [nanmean(column_aucs(y[fold == k], p[fold == k], cols).values()) for k in np.unique(fold)]
    summary = dict(n_folds=n_folds, oof_aucs=aucs, oof_mean_auc=nanmean(aucs.values()),
                   oof_accuracy=float((p.argmax(1) == y.argmax(1)).mean()), per_fold_mean_auc=per_fold,
                   prevalence={c: float(y[:, j].mean()) for j, c in enumerate(cols)})
    text = (f"cross-validation summary ({n_folds} folds, out-of-fold): mean one-vs-rest AUROC "
            f"{summary['oof_mean_auc']:.4f}  accuracy {summary['oof_accuracy']:.4f}\n  "
            + "  ".join(f"{c} {a:.4f}" for c, a in aucs.items())
            + f"\n  per-fold mean AUROC: {' '.join(f'{a:.4f}' for a in per_fold)}")
    return summary, text


def binary_summary(oof, cfg, n_folds):
    cols, locs, prim = C.target_columns(cfg), C.location_columns(cfg), C.primary(cfg)
    y = oof[[f"{c}_true" for c in cols]].to_numpy(float)
    p = oof[cols].to_numpy(float)
    loc_j = [cols.index(c) for c in locs]
    fold = oof["fold"].to_numpy()

    # honest location output: each fold is thresholded with thresholds chosen on the other folds only
    crossfit = np.zeros((len(oof), len(locs)), int)
    for k in np.unique(fold):
        rest, this = fold != k, fold == k
        th = best_thresholds(y[rest][:, loc_j], p[rest][:, loc_j], locs)
        crossfit[this] = apply_thresholds(p[this][:, loc_j], th, locs)
    rep = score_report(y, p, cols, prim, location_output=crossfit)
    per_fold = [auc(y[fold == k, cols.index(prim)], p[fold == k, cols.index(prim)]) for k in np.unique(fold)]
    thresholds = best_thresholds(y[:, loc_j], p[:, loc_j], locs)
    summary = dict(n_folds=n_folds, oof=rep, per_fold_primary_auc=per_fold,
                   primary_auc_fold_mean=float(np.nanmean(per_fold)), primary_auc_fold_std=float(np.nanstd(per_fold)),
                   location_thresholds=thresholds,
                   location_accuracy_note="cross-fitted: each fold thresholded with thresholds from the other folds",
                   threshold_rule="per location, the cut on out-of-fold probabilities that maximises that column's "
                                  "accuracy (ties: fewer positives); above 1 = never predicted")
    text = (format_report(rep, f"cross-validation summary ({n_folds} folds, out-of-fold predictions)")
            + f"\n  per-fold {prim} AUROC: {' '.join(f'{a:.4f}' for a in per_fold)} "
            f"(mean {summary['primary_auc_fold_mean']:.4f}, sd {summary['primary_auc_fold_std']:.4f})")
    return summary, text


def location_thresholds(weights_dir):
    """Thresholds from cv_summary.json, or None when the CV summary has not been written."""
    path = weights_dir / SUMMARY
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("location_thresholds")
