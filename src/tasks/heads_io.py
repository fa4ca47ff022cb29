"""What a heads task (heads.py) reports: a fold's validation, the CV summary, the output table and evaluate.py's
scores, each by the competition's metric and with the left-out labels (NaN) left out of every score."""
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..metrics import competition as M
from ..metrics.bootstrap import percentile_interval
from ..metrics.chance import not_learned, not_learned_lines
from ..networks.forward import predict_loader
from ..readers.tables import check_columns, read_scoring_table
from ..utilities.distributed import gather
from ..utilities.errors import UserError
from .base import Validation

log = logging.getLogger("harness")


def policy_of(rule, columns):
    """{column: rule} of a targets.uncertain / targets.missing value: one rule for every column, or a map
    naming some (the others: ignore)."""
    if isinstance(rule, dict):
        return {c: rule.get(c, "ignore") for c in dict.fromkeys(list(columns) + list(rule))}
    return {c: rule for c in columns}


def truth_of(gt_df, cols):
    """(n, T) truth of a ground-truth table: 0/1 kept, anything else (empty, -1, text) NaN: left out."""
    values = gt_df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    values[~np.isin(values, [0, 1])] = np.nan
    return values


class HeadsScoring:
    """The reporting half of the heads kind (needs ``heads``, ``label_cols``, ``cols``, ``metric``,
    ``metric_name``, ``metric_columns``, ``chance_upper`` and ``fold_scores`` from heads.Heads)."""

    def validate(self, model, loader, device, samples, va, fold):
        y = samples.labels[va]
        probs, _, order = predict_loader([model], loader, device, activation=self.probabilities)
        (probs,) = gather(order, probs)
        val_loss = float(self.loss(self.logits_of_probabilities(probs), torch.from_numpy(y)))
        score = self.metric(y, probs)
        aucs = {c: M.masked_auc(y[:, self.label_cols.index(c)], probs[:, self.label_cols.index(c)])
                for c in self.cols}
        oof = pd.DataFrame({"id": [samples.ids[i] for i in va], "fold": fold})
        for j, c in enumerate(self.label_cols):
            oof[c] = probs[:, j]
        for j, c in enumerate(self.label_cols):
            oof[f"{c}_true"] = y[:, j]
        key = f"val_{self.metric_name}"
        row = {"val_loss": val_loss, key: score, **{f"val_auc_{c}": a for c, a in aucs.items()}}
        return Validation([score if score == score else -np.inf, -val_loss], row, oof,
                          dict(val_scores=dict(row)), f"val_loss {val_loss:.4f}  {M.NAMES[self.metric_name]} "
                          f"{score:.4f}", self.chance_upper(y, probs))

    def oof_arrays(self, oof):
        y = oof[[f"{c}_true" for c in self.label_cols]].to_numpy(float)
        return y, oof[self.label_cols].to_numpy(float), oof["fold"].to_numpy()

    def summarize(self, oof):
        y, p, fold = self.oof_arrays(oof)
        ks, per_fold, chance = self.fold_scores(y, p, fold)
        pooled = self.metric(y, p)
        name = M.NAMES[self.metric_name]
        aucs = {c: M.masked_auc(y[:, self.label_cols.index(c)], p[:, self.label_cols.index(c)]) for c in self.cols}
        known = {c: int((~np.isnan(y[:, self.label_cols.index(c)])).sum()) for c in self.cols}
        summary = dict(n_folds=int(len(ks)), metric=self.metric_name, metric_columns=self.metric_columns,
                       oof_metric=pooled, per_fold_metric=per_fold, metric_fold_std=float(np.nanstd(per_fold)),
                       per_fold_chance_upper=chance, folds_not_learned=not_learned(ks, per_fold, chance),
                       ensemble_estimate=pooled, ensemble_estimator="pooled_oof", oof_aucs=aucs, labelled=known,
                       prevalence={c: float(np.nanmean(y[:, self.label_cols.index(c)])) for c in self.cols})
        text = (f"cross-validation summary ({len(ks)} folds, out-of-fold): {name} "
                f"({', '.join(self.metric_columns)}) {pooled:.4f}\n  per-fold {name}: "
                + " ".join(f"{v:.4f}" for v in per_fold) + f" (sd {summary['metric_fold_std']:.4f})\n  "
                + "  ".join(f"{c} AUROC {a:.4f} ({known[c]} labelled)" for c, a in aucs.items())
                + "".join(f"\n  WARNING: {w}" for w in not_learned_lines(zip(ks.tolist(), per_fold, chance))))
        return summary, text

    def headline(self, oof):
        y, p, _ = self.oof_arrays(oof)
        return self.metric(y, p)

    def leaderboard(self, summary):
        return {f"oof_{summary['metric']}": summary["oof_metric"], "fold_sd": summary["metric_fold_std"]}

    def output_values(self, run, probs):
        return {c: np.round(probs[:, self.label_cols.index(c)].astype(float), 6) for c in self.cols}

    def evaluate(self, pred, gt, n_boot, plots):
        """Scores of a prediction table against the truth (rows by position, columns by name); truth columns
        the task does not score are noted and left alone, empty or uncertain truth cells left out."""
        id_col = self.cfg["data"]["id_column"]
        gt_df, pred_df = read_scoring_table(gt, "ground-truth", id_col), read_scoring_table(pred, "prediction", id_col)
        check_columns(gt_df, [id_col] + self.cols, gt, "ground truth", extra_ok=True)
        check_columns(pred_df, [id_col] + self.cols, pred, "prediction")
        if len(gt_df) != len(pred_df):
            raise UserError(f"{pred} has {len(pred_df)} rows but {gt} has {len(gt_df)}; rows are matched by position")
        if pred_df[id_col].astype(str).str.strip().tolist() != gt_df[id_col].astype(str).str.strip().tolist():
            log.warning("WARNING: the %s order of %s differs from %s; rows are matched BY POSITION, as the "
                        "organizers do", id_col, pred, gt)
        values = pred_df[self.cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
            raise UserError(f"prediction {pred}: empty, non-numeric or out-of-[0, 1] values")
        y, p = self.label_order(truth_of(gt_df, self.cols)), self.label_order(values)
        rep = self.score(y, p, n_boot, pred, gt)
        if plots:
            keep = ~np.isnan(y[:, [self.label_cols.index(c) for c in self.cols]]).any(1)
            from ..metrics.figures import multiclass_evaluation_plots  # matplotlib only when pictures are asked for
            idx = [self.label_cols.index(c) for c in self.cols]
            paths = multiclass_evaluation_plots(y[keep][:, idx], p[keep][:, idx], self.cols, Path(plots),
                                                Path(pred).name)
            print(f"plots: {', '.join(str(x) for x in paths)}")
        return rep

    def score(self, y, p, n_boot, pred_path, gt_path):
        name = M.NAMES[self.metric_name]
        value = self.metric(y, p)
        if value != value:
            raise UserError(f"ground truth {gt_path}: {', '.join(self.metric_columns)} holds no two classes to "
                            f"score, so the {name} is undefined")
        lo, hi = percentile_interval(lambda idx: self.metric(y[idx], p[idx]), len(y), n_boot)
        aucs = {c: M.masked_auc(y[:, self.label_cols.index(c)], p[:, self.label_cols.index(c)]) for c in self.cols}
        print(f"{name} ({', '.join(self.metric_columns)}): {value:.4f}  95% CI [{lo:.4f}, {hi:.4f}]")
        for c, a in aucs.items():
            col = y[:, self.label_cols.index(c)]
            print(f"  {c:<20} AUROC {a:.4f}  labelled {int((~np.isnan(col)).sum())}  prevalence "
                  f"{np.nanmean(col):.3f}")
        return dict(n=int(len(y)), metric=self.metric_name, value=value, ci95=[lo, hi], aucs=aucs)

    def label_order(self, values):
        """An (n, L) array in label-column order made from ``values`` (n, T) in output-column order (the columns
        of trained-only heads NaN)."""
        out = np.full((len(values), len(self.label_cols)), np.nan)
        for j, c in enumerate(self.cols):
            out[:, self.label_cols.index(c)] = np.asarray(values, float)[:, j]
        return out

    def explain_target(self, probs):
        return self.label_cols.index(self.metric_columns[0])

    def describe(self, probs, truth, weights_dir, ckpts):
        text = " | ".join(f"P({c}) {probs[self.label_cols.index(c)]:.2f}" for c in self.cols)
        if truth is not None:
            text += "\ntruth: " + ", ".join(f"{c} {truth[self.label_cols.index(c)]:.0f}" for c in self.cols)
        return text

    def heldout_rows(self, cv, y, p):
        y, p = self.label_order(truth_of(pd.DataFrame(y, columns=self.cols), self.cols)), self.label_order(p)
        rows = [(M.NAMES[self.metric_name], cv["oof_metric"], self.metric(y, p))]
        rows += [(f"  {c} AUROC", cv["oof_aucs"][c], M.masked_auc(y[:, self.label_cols.index(c)],
                                                                   p[:, self.label_cols.index(c)])) for c in self.cols]
        return rows, ""
