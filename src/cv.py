"""The cross-validation summary: out-of-fold scores of all folds and the thresholds test.py uses."""
import json
import logging

import numpy as np
import pandas as pd

from . import checkpoint as ckpt
from . import config as C
from . import targets as T
from .io_utils import atomic_write_text
from .metrics import (
    apply_thresholds,
    auc,
    best_thresholds,
    column_aucs,
    format_report,
    nanmean,
    rank_within,
    score_report,
)

log = logging.getLogger("harness")
SUMMARY = "cv_summary.json"
# which out-of-fold number estimates the score of the fold ensemble that test.py runs (measured: docs/RECIPE.md)
ESTIMATOR = "pooled_oof"
ESTIMATORS = {"pooled_oof": "pooled out-of-fold AUROC", "fold_mean": "mean of the per-fold AUROCs",
              "rank_pooled": "AUROC of the out-of-fold predictions ranked within each fold, then pooled"}
NOT_LEARNED_ADVICE = ("try more --epochs, a larger --img_size, local ImageNet weights (--pretrained_path), or "
                      "train that fold again with another --seed")


def never_learned(score, chance):
    """True when a fold's best validation score stayed inside its chance band (NaN band: cannot tell, False)."""
    return score is not None and chance == chance and score <= chance


def not_learned_lines(rows):
    """A warning for each (fold, best score, chance upper edge) whose score stayed within the chance band."""
    return [f"fold {k} never learned: its best validation AUROC {score:.4f} does not clear the chance band "
            f"(> {chance:.4f} needed on its validation labels), so it adds noise to the ensemble; {NOT_LEARNED_ADVICE}"
            for k, score, chance in rows if never_learned(score, chance)]


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
    ks = np.unique(fold)
    per_fold = [nanmean(column_aucs(y[fold == k], p[fold == k], cols).values()) for k in ks]
    chance = [T.chance_upper(cfg, y[fold == k]) for k in ks]
    warnings = not_learned_lines(zip(ks.tolist(), per_fold, chance))
    summary = dict(n_folds=n_folds, oof_aucs=aucs, oof_mean_auc=nanmean(aucs.values()),
                   oof_accuracy=float((p.argmax(1) == y.argmax(1)).mean()), per_fold_mean_auc=per_fold,
                   per_fold_chance_upper=chance,
                   folds_not_learned=[int(k) for k, a, c in zip(ks, per_fold, chance) if never_learned(a, c)],
                   prevalence={c: float(y[:, j].mean()) for j, c in enumerate(cols)})
    text = (f"cross-validation summary ({n_folds} folds, out-of-fold): mean one-vs-rest AUROC "
            f"{summary['oof_mean_auc']:.4f}  accuracy {summary['oof_accuracy']:.4f}\n  "
            + "  ".join(f"{c} {a:.4f}" for c, a in aucs.items())
            + f"\n  per-fold mean AUROC: {' '.join(f'{a:.4f}' for a in per_fold)}"
            + "".join(f"\n  WARNING: {w}" for w in warnings))
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
    pi, ks = cols.index(prim), np.unique(fold)
    per_fold = [auc(y[fold == k, pi], p[fold == k, pi]) for k in ks]
    chance = [T.chance_upper(cfg, y[fold == k]) for k in ks]
    warnings = not_learned_lines(zip(ks.tolist(), per_fold, chance))
    estimates = dict(pooled_oof=rep["primary_auc"], fold_mean=float(np.nanmean(per_fold)),
                     rank_pooled=auc(y[:, pi], rank_within(p[:, pi], fold)))
    thresholds = best_thresholds(y[:, loc_j], p[:, loc_j], locs)
    summary = dict(n_folds=n_folds, oof=rep, per_fold_primary_auc=per_fold,
                   primary_auc_fold_mean=float(np.nanmean(per_fold)), primary_auc_fold_std=float(np.nanstd(per_fold)),
                   per_fold_chance_upper=chance,
                   folds_not_learned=[int(k) for k, a, c in zip(ks, per_fold, chance) if never_learned(a, c)],
                   ensemble_estimate=estimates[ESTIMATOR], ensemble_estimator=ESTIMATOR, estimates=estimates,
                   location_thresholds=thresholds,
                   location_accuracy_note="cross-fitted: each fold thresholded with thresholds from the other folds",
                   threshold_rule="per location, the cut on out-of-fold probabilities that maximises that column's "
                                  "accuracy (ties: fewer positives); above 1 = never predicted")
    text = (format_report(rep, f"cross-validation summary ({n_folds} folds, out-of-fold predictions)")
            + f"\n  per-fold {prim} AUROC: {' '.join(f'{a:.4f}' for a in per_fold)} "
            f"(mean {summary['primary_auc_fold_mean']:.4f}, sd {summary['primary_auc_fold_std']:.4f})"
            + f"\n  estimate for the {n_folds}-fold ensemble that test.py runs: {prim} AUROC "
            f"{estimates[ESTIMATOR]:.4f} ({ESTIMATORS[ESTIMATOR]}); location accuracy all-zeros baseline "
            f"{rep['location_accuracy_all_zeros']:.4f}"
            + "".join(f"\n  WARNING: {w}" for w in warnings))
    return summary, text


def location_thresholds(weights_dir):
    """Thresholds from cv_summary.json, or None when the CV summary has not been written."""
    path = weights_dir / SUMMARY
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("location_thresholds")
