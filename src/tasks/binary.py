"""Binary multi-label (K-ium): independent 0/1 columns, one of them primary (e.g. Aneurysm).

Sigmoid and BCE; the primary column's AUROC decides early stopping; the other columns ("locations") are
written as 0/1 through thresholds chosen on out-of-fold predictions (cv_summary.json), or as probabilities
with ``targets.location_output: probability`` or test.py --location_probs.
"""
import json
import logging

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..metrics.chance import auc_chance_upper, not_learned, not_learned_lines
from ..metrics.classification import (
    apply_thresholds,
    auc,
    best_thresholds,
    column_aucs,
    format_report,
    mean_location_auc,
    rank_within,
    score_report,
)
from ..networks.model import multiview_args
from ..utilities import config as C
from ..utilities import layout
from ..utilities.errors import UserError
from .base import Classification

log = logging.getLogger("harness")

# which out-of-fold number estimates the score of the fold ensemble that test.py runs (measured: docs/RECIPE.md)
ESTIMATOR = "pooled_oof"
ESTIMATORS = {"pooled_oof": "pooled out-of-fold AUROC", "fold_mean": "mean of the per-fold AUROCs",
              "rank_pooled": "AUROC of the out-of-fold predictions ranked within each fold, then pooled"}


def bce_loss(logits, targets, primary_index, location_weight=1.0):
    """BCE on the primary target plus ``location_weight`` x the mean BCE over the location targets."""
    per = F.binary_cross_entropy_with_logits(logits.float(), targets.float(), reduction="none").mean(0)
    loc_mask = torch.ones_like(per, dtype=torch.bool)
    loc_mask[primary_index] = False
    loc = per[loc_mask].mean() if loc_mask.any() else per.new_zeros(())
    return per[primary_index] + location_weight * loc


class Binary(Classification):
    name = "binary"

    def check(self, where):
        if C.primary(self.cfg) not in self.cols:
            raise UserError(f"{where}: targets.primary must be one of targets.columns")
        self.primary_index = self.cols.index(C.primary(self.cfg))
        self.location_weight = float(self.cfg["train"]["location_loss_weight"])

    def read_labels(self, frame, csv_path):
        absent = [c for c in self.cols if c not in frame.columns]
        if absent:
            raise UserError(f"{csv_path} lacks target columns: {', '.join(absent)}")
        return frame[self.cols].apply(pd.to_numeric, errors="coerce").to_numpy(np.float32)

    def label_columns(self):
        return list(self.cols)

    def label_problems(self, samples):
        cols, y, problems = self.cols, samples.labels, []
        bad = np.isnan(y) | ~np.isin(y, [0, 1])
        if bad.any():
            cells = [f"{samples.ids[r]}/{cols[c]}='{samples.frame[cols[c]].iloc[r]}'" for r, c in np.argwhere(bad)]
            problems.append(("error", "label values outside {0, 1} or missing", cells))
        prim, pi = C.primary(self.cfg), self.primary_index
        loc = [j for j in range(len(cols)) if j != pi]
        if loc:
            y0 = np.nan_to_num(y)
            any_loc = y0[:, loc].max(1) > 0
            no_primary = [samples.ids[i] for i in np.flatnonzero((y0[:, pi] == 0) & any_loc)]
            no_location = [samples.ids[i] for i in np.flatnonzero((y0[:, pi] == 1) & ~any_loc)]
            if no_primary:
                problems.append(("warning", f"{prim} = 0 with a location = 1", no_primary))
            if no_location:
                problems.append(("warning", f"{prim} = 1 with no location", no_location))
        return problems

    def model_args(self):
        return multiview_args(self.cfg, "primary_locations", self.primary_index)

    def loss(self, logits, y):
        return bce_loss(logits, y, self.primary_index, self.location_weight)

    def probabilities(self, logits):
        return torch.sigmoid(logits)

    def logits_of_probabilities(self, probs):
        return torch.logit(torch.from_numpy(probs).double().clamp(1e-7, 1 - 1e-7))

    def validation_scores(self, y, p):
        aucs = column_aucs(y, p, self.cols)
        prim = C.primary(self.cfg)
        return aucs[prim], dict(val_auc_primary=aucs[prim], val_mean_location_auc=mean_location_auc(
            y, aucs, C.location_columns(self.cfg), self.cols)), {}

    def validation_extras(self, y, p):
        locs = C.location_columns(self.cfg)
        j = [self.cols.index(c) for c in locs]
        return dict(thresholds=best_thresholds(y[:, j], p[:, j], locs))

    def chance_upper(self, y):
        """Upper edge of the chance band of the primary AUROC on labels ``y`` (metrics.auc_chance_upper)."""
        return auc_chance_upper(y[:, self.primary_index])

    def summarize(self, oof):
        cols, locs, prim = self.cols, C.location_columns(self.cfg), C.primary(self.cfg)
        n_folds = oof["fold"].nunique()
        y = oof[[f"{c}_true" for c in cols]].to_numpy(float)
        p = oof[cols].to_numpy(float)
        loc_j = [cols.index(c) for c in locs]
        fold = oof["fold"].to_numpy()
        # honest location output: each fold is thresholded with thresholds chosen on the other folds only
        crossfit = np.zeros((len(oof), len(locs)), int)
        for k in np.unique(fold) if locs else []:
            rest, this = fold != k, fold == k
            th = best_thresholds(y[rest][:, loc_j], p[rest][:, loc_j], locs)
            crossfit[this] = apply_thresholds(p[this][:, loc_j], th, locs)
        rep = score_report(y, p, cols, prim, location_output=crossfit)
        pi, ks = self.primary_index, np.unique(fold)
        per_fold = [auc(y[fold == k, pi], p[fold == k, pi]) for k in ks]
        chance = [self.chance_upper(y[fold == k]) for k in ks]
        warnings = not_learned_lines(zip(ks.tolist(), per_fold, chance))
        estimates = dict(pooled_oof=rep["primary_auc"], fold_mean=float(np.nanmean(per_fold)),
                         rank_pooled=auc(y[:, pi], rank_within(p[:, pi], fold)))
        summary = dict(n_folds=n_folds, oof=rep, per_fold_primary_auc=per_fold,
                       primary_auc_fold_mean=float(np.nanmean(per_fold)),
                       primary_auc_fold_std=float(np.nanstd(per_fold)), per_fold_chance_upper=chance,
                       folds_not_learned=not_learned(ks, per_fold, chance),
                       ensemble_estimate=estimates[ESTIMATOR], ensemble_estimator=ESTIMATOR, estimates=estimates,
                       location_thresholds=best_thresholds(y[:, loc_j], p[:, loc_j], locs),
                       location_accuracy_note="cross-fitted: each fold thresholded with thresholds from the other "
                                              "folds",
                       threshold_rule="per location, the cut on out-of-fold probabilities that maximises that "
                                      "column's accuracy (ties: fewer positives); above 1 = never predicted")
        text = (format_report(rep, f"cross-validation summary ({n_folds} folds, out-of-fold predictions)")
                + f"\n  per-fold {prim} AUROC: {' '.join(f'{a:.4f}' for a in per_fold)} "
                f"(mean {summary['primary_auc_fold_mean']:.4f}, sd {summary['primary_auc_fold_std']:.4f})"
                + f"\n  estimate for the {n_folds}-fold ensemble that test.py runs: {prim} AUROC "
                f"{estimates[ESTIMATOR]:.4f} ({ESTIMATORS[ESTIMATOR]})"
                + (f"; location accuracy all-zeros baseline {rep['location_accuracy_all_zeros']:.4f}" if locs else "")
                + "".join(f"\n  WARNING: {w}" for w in warnings))
        return summary, text

    def headline(self, oof):
        prim = C.primary(self.cfg)
        return auc(oof[f"{prim}_true"].to_numpy(float), oof[prim].to_numpy(float))

    def leaderboard(self, summary):
        rep = summary["oof"]
        return dict(oof_primary_auc=rep["primary_auc"], mean_location_auc=rep["mean_location_auc"],
                    organizers_auc=rep["primary_auc"], organizers_location_accuracy=rep["location_accuracy"],
                    all_zeros_location_accuracy=rep["location_accuracy_all_zeros"],
                    fold_sd=summary["primary_auc_fold_std"])

    def thresholds(self, weights_dir, ckpts):
        """Location thresholds: from the CV summary, else the mean of the trained folds' validation thresholds."""
        path = layout.summary(weights_dir)
        if path.is_file():
            log.info("location thresholds: from the out-of-fold CV summary (%s)", path)
            return json.loads(path.read_text(encoding="utf-8"))["location_thresholds"]
        log.warning("no cv_summary.json (not every fold finished): location thresholds are the mean of the "
                    "trained folds' validation thresholds")
        return {c: float(np.mean([k["thresholds"][c] for k in ckpts])) for c in C.location_columns(self.cfg)}

    def output_values(self, run, probs):
        values = super().output_values(run, probs)
        if run.location_probs or self.cfg["targets"]["location_output"] == "probability":
            return values
        th = self.thresholds(run.weights_dir, run.ckpts)
        for c in C.location_columns(self.cfg):
            values[c] = (probs[:, self.cols.index(c)] >= th[c]).astype(int)
        return values

    def score(self, y, p, n_boot, pred_path, gt_path):
        cols, prim = self.cols, C.primary(self.cfg)
        if np.unique(y[:, self.primary_index]).size < 2:
            raise UserError(f"ground truth {gt_path}: '{prim}' holds one class only, so its AUROC is undefined")
        locs = [j for j, c in enumerate(cols) if c != prim]
        if locs and not np.isin(p[:, locs], [0, 1]).all():
            log.warning("location columns hold values other than 0/1; the organizers' accuracy expects 0/1 labels")
        rep = score_report(y, p, cols, prim, n_boot=n_boot)
        print(f"{prim} AUROC: {rep['primary_auc']:.4f}")
        if locs:
            print(f"location accuracy: {rep['location_accuracy']:.4f}")
        print(format_report(rep, f"details ({pred_path} vs {gt_path}):"))
        return rep

    def evaluation_plots(self, y, p, folder, source):
        from ..metrics.figures import binary_evaluation_plots
        return binary_evaluation_plots(y, p, self.cols, C.primary(self.cfg), folder, source)

    def explain_target(self, probs):
        return self.primary_index

    def describe(self, probs, truth, weights_dir, ckpts):
        cols, prim, locs = self.cols, C.primary(self.cfg), C.location_columns(self.cfg)
        th = self.thresholds(weights_dir, ckpts)
        found = [c for c in locs if probs[cols.index(c)] >= th[c]]
        text = f"P({prim}) {probs[self.primary_index]:.2f} | predicted locations: {', '.join(found) or 'none'}"
        if truth is not None:
            true_locs = [c for c in locs if truth[cols.index(c)] > 0.5]
            text += f"\ntruth: {prim} {int(truth[self.primary_index])}, locations: {', '.join(true_locs) or 'none'}"
        return text

    def heldout_rows(self, cv, y, p):
        cols = self.cols
        held = score_report(y, p, cols, C.primary(self.cfg), n_boot=1000)
        rows = [("primary AUROC", cv["oof"]["primary_auc"], held["primary_auc"])]
        # each estimate of the fold ensemble's score beside what the ensemble scored
        rows += [(f"  estimate: {name}", value, held["primary_auc"]) for name, value in cv.get("estimates", {}).items()]
        rows += [("mean location AUROC", cv["oof"]["mean_location_auc"], held["mean_location_auc"])]
        rows += [(f"  {c} AUROC", cv["oof"]["aucs"][c], held["aucs"][c]) for c in cols]
        ci = held["primary_auc_ci95"]
        return rows, f"held-out primary AUROC 95% CI: [{ci[0]:.4f}, {ci[1]:.4f}]"
