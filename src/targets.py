"""What a task predicts, read from ``targets.kind`` in its config:

- ``binary`` (K-ium): independent 0/1 columns, one of them primary; sigmoid, BCE; the primary column's AUROC
  decides early stopping; the other columns ("locations") are written as 0/1 through thresholds.
- ``multiclass`` (edema grade): one integer column (``targets.source_column``, 0..K-1) one-hot encoded into
  the K ``targets.columns``; softmax, cross-entropy; the mean one-vs-rest AUROC decides early stopping; every
  column is written as a probability.
- ``segmentation`` (lung masks): a mask per image; see src/segmentation.py.
"""
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from . import config as C
from .errors import UserError
from .metrics import auc_chance_upper, column_aucs, mean_location_auc, nanmean


def kind(cfg):
    return cfg["targets"].get("kind", "binary")


def read_labels(frame, cfg, csv_path):
    """(n, T) float32 labels; a NaN cell (binary) or row (multiclass) where the CSV holds no valid value."""
    cols = C.target_columns(cfg)
    if kind(cfg) == "multiclass":
        src = cfg["targets"]["source_column"]
        if src not in frame.columns:
            raise UserError(f"{csv_path} lacks the '{src}' column")
        grade = pd.to_numeric(frame[src], errors="coerce").to_numpy(float)
        out = np.full((len(frame), len(cols)), np.nan, np.float32)
        ok = np.isin(grade, np.arange(len(cols)))
        out[ok] = np.eye(len(cols), dtype=np.float32)[grade[ok].astype(int)]
        return out
    absent = [c for c in cols if c not in frame.columns]
    if absent:
        raise UserError(f"{csv_path} lacks target columns: {', '.join(absent)}")
    return frame[cols].apply(pd.to_numeric, errors="coerce").to_numpy(np.float32)


def loss(cfg, logits, y):
    if kind(cfg) == "multiclass":
        return F.cross_entropy(logits.float(), y.argmax(1))
    cols = C.target_columns(cfg)
    return bce_loss(logits, y, cols.index(C.primary(cfg)), float(cfg["train"].get("location_loss_weight", 1.0)))


def bce_loss(logits, targets, primary_index, location_weight=1.0):
    """BCE on the primary target plus ``location_weight`` x the mean BCE over the location targets."""
    per = F.binary_cross_entropy_with_logits(logits.float(), targets.float(), reduction="none").mean(0)
    loc_mask = torch.ones_like(per, dtype=torch.bool)
    loc_mask[primary_index] = False
    loc = per[loc_mask].mean() if loc_mask.any() else per.new_zeros(())
    return per[primary_index] + location_weight * loc


def probabilities(cfg, logits):
    return torch.softmax(logits, 1) if kind(cfg) == "multiclass" else torch.sigmoid(logits)


def validation_scores(cfg, y, p):
    """(headline score, {name: value} for the logs, {name: value} of further metrics.csv columns)."""
    cols = C.target_columns(cfg)
    aucs = column_aucs(y, p, cols)
    if kind(cfg) == "multiclass":
        mean = nanmean(aucs.values())
        return mean, dict(val_mean_auc=mean), {f"val_auc_{c}": a for c, a in aucs.items()}
    prim = C.primary(cfg)
    return aucs[prim], dict(val_auc_primary=aucs[prim],
                            val_mean_location_auc=mean_location_auc(y, aucs, C.location_columns(cfg), cols)), {}


def chance_upper(cfg, y):
    """Upper edge of the chance band of the headline score on labels ``y`` (see metrics.auc_chance_upper):
    the primary column's, or for multiclass the mean over the one-vs-rest columns."""
    if kind(cfg) == "multiclass":
        return nanmean(auc_chance_upper(y[:, j]) for j in range(y.shape[1]))
    return auc_chance_upper(y[:, C.target_columns(cfg).index(C.primary(cfg))])


def logits_of_probabilities(cfg, probs):
    """The inverse of ``probabilities`` (up to a constant per row for softmax), for losses on averaged output."""
    p = torch.from_numpy(probs).double()
    if kind(cfg) == "multiclass":
        return torch.log(p.clamp_min(1e-7))
    return torch.logit(p.clamp(1e-7, 1 - 1e-7))


def stratify_labels(samples, cfg):
    """Columns the folds are stratified on: the labels, or for segmentation an optional CSV column."""
    if samples.labels is not None:
        return np.nan_to_num(samples.labels)
    col = cfg["targets"].get("stratify_column")
    if col and col in samples.frame.columns:
        return pd.get_dummies(samples.frame[col].astype(str)).to_numpy(np.float32)
    return np.zeros((len(samples.ids), 1), np.float32)
