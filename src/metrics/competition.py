"""The competition metrics a task YAML names (``metric.name`` over ``metric.columns``), each a function of the
truth ``y`` and the probabilities ``p``, both (n, T) in the task's column order, the truth NaN where a label is
missing (such rows are left out of that column's score):

- ``auroc``: the ROC AUC of one column;
- ``mean_auroc``: the mean ROC AUC over the named columns (CheXpert 2019: 5 observations);
- ``pf1``: probabilistic F1 of one column (RSNA 2023 Screening Mammography; Kaggle's ``pfbeta`` with beta 1):
  precision and recall with the probabilities as soft counts, ctp = sum of p over the positives, cfp = sum of p
  over the negatives, precision = ctp / (ctp + cfp), recall = ctp / positives. It rewards confident outputs.
"""
import numpy as np

from ..utilities.errors import UserError
from .classification import auc, nanmean

METRICS = ("auroc", "mean_auroc", "pf1")
ONE_COLUMN = ("auroc", "pf1")
NAMES = {"auroc": "AUROC", "mean_auroc": "mean AUROC", "pf1": "probabilistic F1"}


def pf1(y, p, beta=1.0):
    """Probabilistic F-beta of 0/1 truth ``y`` and probabilities ``p`` (1-d; NaN truth left out): 0 when nothing
    is predicted, NaN without a positive."""
    y, p = np.asarray(y, float), np.clip(np.asarray(p, float), 0, 1)
    keep = ~np.isnan(y)
    y, p = y[keep], p[keep]
    positives = y.sum()
    if positives == 0:
        return float("nan")
    ctp, cfp = float((p * y).sum()), float((p * (1 - y)).sum())
    if ctp == 0:
        return 0.0
    precision, recall = ctp / (ctp + cfp), ctp / positives
    return float((1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall))


def masked_auc(y, p):
    """ROC AUC of one column with the missing (NaN) truth left out; NaN with one class."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    keep = ~np.isnan(y)
    return auc(y[keep], p[keep])


def check(metric, columns, where="config"):
    """(name, columns) of a task's ``metric`` section, checked against its output columns (a one-line
    UserError otherwise); the columns default to all of them."""
    name, chosen = metric["name"], metric["columns"] or list(columns)
    if name not in METRICS:
        raise UserError(f"{where}: metric.name must be one of {', '.join(METRICS)}, not '{name}'")
    unknown = [c for c in chosen if c not in columns]
    if unknown:
        raise UserError(f"{where}: metric.columns names {unknown}, which are not output columns "
                        f"({', '.join(columns)})")
    if name in ONE_COLUMN and len(chosen) != 1:
        raise UserError(f"{where}: metric {name} scores one column; give it in metric.columns (one of "
                        f"{', '.join(chosen)})")
    return name, list(chosen)


def value(name, y, p, idx):
    """The metric ``name`` of the truth ``y`` and probabilities ``p`` (n, T) over the column indices ``idx``."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    if name == "pf1":
        return pf1(y[:, idx[0]], p[:, idx[0]])
    if name == "auroc":
        return masked_auc(y[:, idx[0]], p[:, idx[0]])
    return nanmean(masked_auc(y[:, j], p[:, j]) for j in idx)
