"""Multiclass (edema grade): one integer column (``targets.source_column``, 0..K-1) one-hot encoded into the K
``targets.columns``; softmax and cross-entropy; the mean one-vs-rest AUROC decides early stopping; every
column is written as a probability."""
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..metrics.chance import auc_chance_upper, not_learned, not_learned_lines
from ..metrics.classification import column_aucs, nanmean
from ..networks.model import multiview_args
from ..utilities.errors import UserError
from .base import Classification


class Multiclass(Classification):
    name = "multiclass"

    def check(self, where):
        if not self.cfg["targets"].get("source_column"):
            raise UserError(f"{where}: a multiclass task names its label column in targets.source_column")

    def read_labels(self, frame, csv_path):
        """(n, K) one-hot float32; a NaN row where the CSV holds no valid class."""
        src = self.cfg["targets"]["source_column"]
        if src not in frame.columns:
            raise UserError(f"{csv_path} lacks the '{src}' column")
        grade = pd.to_numeric(frame[src], errors="coerce").to_numpy(float)
        out = np.full((len(frame), len(self.cols)), np.nan, np.float32)
        ok = np.isin(grade, np.arange(len(self.cols)))
        out[ok] = np.eye(len(self.cols), dtype=np.float32)[grade[ok].astype(int)]
        return out

    def label_columns(self):
        return [self.cfg["targets"]["source_column"]]

    def label_problems(self, samples):
        src = self.cfg["targets"]["source_column"]
        bad = [f"{samples.ids[r]}/{src}='{samples.frame[src].iloc[r]}'"
               for r in np.flatnonzero(np.isnan(samples.labels).any(1))]
        return [("error", f"{src} values outside 0..{len(self.cols) - 1} or missing", bad)] if bad else []

    def model_args(self):
        return multiview_args(self.cfg, "flat", 0)

    def loss(self, logits, y):
        return F.cross_entropy(logits.float(), y.argmax(1))

    def probabilities(self, logits):
        return torch.softmax(logits, 1)

    def logits_of_probabilities(self, probs):
        return torch.log(torch.from_numpy(probs).double().clamp_min(1e-7))

    def validation_scores(self, y, p):
        aucs = column_aucs(y, p, self.cols)
        mean = nanmean(aucs.values())
        return mean, dict(val_mean_auc=mean), {f"val_auc_{c}": a for c, a in aucs.items()}

    def chance_upper(self, y):
        """Mean over the one-vs-rest columns of the upper edge of their chance bands."""
        return nanmean(auc_chance_upper(y[:, j]) for j in range(y.shape[1]))

    def summarize(self, oof):
        cols, n_folds = self.cols, oof["fold"].nunique()
        y = oof[[f"{c}_true" for c in cols]].to_numpy(float)
        p = oof[cols].to_numpy(float)
        aucs = column_aucs(y, p, cols)
        fold = oof["fold"].to_numpy()
        ks = np.unique(fold)
        per_fold = [nanmean(column_aucs(y[fold == k], p[fold == k], cols).values()) for k in ks]
        chance = [self.chance_upper(y[fold == k]) for k in ks]
        warnings = not_learned_lines(zip(ks.tolist(), per_fold, chance))
        summary = dict(n_folds=n_folds, oof_aucs=aucs, oof_mean_auc=nanmean(aucs.values()),
                       oof_accuracy=float((p.argmax(1) == y.argmax(1)).mean()), per_fold_mean_auc=per_fold,
                       per_fold_chance_upper=chance, folds_not_learned=not_learned(ks, per_fold, chance),
                       prevalence={c: float(y[:, j].mean()) for j, c in enumerate(cols)})
        text = (f"cross-validation summary ({n_folds} folds, out-of-fold): mean one-vs-rest AUROC "
                f"{summary['oof_mean_auc']:.4f}  accuracy {summary['oof_accuracy']:.4f}\n  "
                + "  ".join(f"{c} {a:.4f}" for c, a in aucs.items())
                + f"\n  per-fold mean AUROC: {' '.join(f'{a:.4f}' for a in per_fold)}"
                + "".join(f"\n  WARNING: {w}" for w in warnings))
        return summary, text

    def leaderboard(self, summary):
        return dict(oof_mean_auc=summary["oof_mean_auc"], oof_accuracy=summary["oof_accuracy"])

    def score(self, y, p, n_boot, pred_path, gt_path):
        """One-vs-rest ROC AUC per class (the grade columns), their mean, and the accuracy of the arg-max."""
        cols = self.cols
        if not (y.sum(1) == 1).all():
            raise UserError("ground truth: each row must have exactly one class set to 1")
        aucs = column_aucs(y, p, cols)
        mean = nanmean(aucs.values())
        rep = dict(n=int(len(y)), aucs=aucs, mean_auc=mean, accuracy=float((p.argmax(1) == y.argmax(1)).mean()),
                   prevalence={c: float(y[:, j].mean()) for j, c in enumerate(cols)})
        print(f"mean one-vs-rest AUROC: {mean:.4f}")
        for c, a in aucs.items():
            print(f"  {c:<10} AUROC {a:.4f}  prevalence {rep['prevalence'][c]:.3f}")
        print(f"accuracy (arg-max): {rep['accuracy']:.4f}  (majority-class baseline "
              f"{max(rep['prevalence'].values()):.4f})")
        return rep

    def evaluation_plots(self, y, p, folder, source):
        from ..metrics.figures import multiclass_evaluation_plots
        return multiclass_evaluation_plots(y, p, self.cols, folder, source)

    def explain_target(self, probs):
        return int(probs.argmax())

    def describe(self, probs, truth, weights_dir, ckpts):
        pred = f"predicted {self.cols[int(probs.argmax())]} ({probs.max():.2f})"
        return pred + (f" | truth {self.cols[int(truth.argmax())]}" if truth is not None else "")

    def heldout_rows(self, cv, y, p):
        aucs = column_aucs(y, p, self.cols)
        rows = [("mean AUROC", cv["oof_mean_auc"], nanmean(aucs.values()))]
        rows += [(f"  {c} AUROC", cv["oof_aucs"][c], aucs[c]) for c in self.cols]
        return rows, ""
