"""Scores: per-column ROC AUC, the organizers' two numbers, RSNA-style weighted AUC, thresholds, bootstrap."""
import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from .bootstrap import percentile_interval


def auc(y, p):
    """ROC AUC, or NaN when y holds a single class."""
    y = np.asarray(y)
    if y.size == 0 or np.unique(y).size < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


def rank_within(p, groups):
    """``p`` replaced by its rank within each group, scaled to (0, 1]: removes differences in calibration
    between the models that scored the groups (for pooling out-of-fold predictions of several folds)."""
    p, groups = np.asarray(p, float), np.asarray(groups)
    out = np.empty_like(p)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        out[idx] = rankdata(p[idx]) / idx.size
    return out


def column_aucs(y, p, columns):
    return {c: auc(y[:, j], p[:, j]) for j, c in enumerate(columns)}


def nanmean(values):
    vals = [v for v in values if v == v]
    return float(np.mean(vals)) if vals else float("nan")


MIN_POSITIVES = 3     # a location's AUROC enters the mean only with this many positives (fewer: noise)


def mean_location_auc(y, aucs, location_columns, columns):
    """Mean AUROC over the location columns with at least MIN_POSITIVES positives in ``y``."""
    y = np.asarray(y, float)
    return nanmean([aucs[c] for c in location_columns if y[:, columns.index(c)].sum() >= MIN_POSITIVES])


def location_accuracy(y_loc, pred_loc):
    """The organizers' location score: 1 - mean |truth - output| over all location cells (NaN without any)."""
    y_loc = np.asarray(y_loc, float)
    if y_loc.size == 0:
        return float("nan")
    return float(1.0 - np.abs(y_loc - np.asarray(pred_loc, float)).mean())


def rsna_weighted(aucs, primary, primary_weight=None):
    """RSNA 2025 style: primary weighted as much as all locations together (0.5 AUC_p + 0.5 mean loc AUC).

    Locations with a single class in the truth have no AUC and are left out (RSNA would refuse them).
    """
    locs = [v for c, v in aucs.items() if c != primary and v == v]
    if not locs:
        return aucs[primary]
    w = len(locs) if primary_weight is None else primary_weight
    return float((w * aucs[primary] + sum(locs)) / (w + len(locs)))


def best_threshold(y, p):
    """Threshold t (predict 1 when p >= t) that minimises errors on (y, p); ties go to fewer positives.

    Returns a value above 1 (never predict 1) when no cut beats predicting all zeros. The cut sits halfway
    between neighbouring distinct probabilities so that small shifts (fold averaging) do not flip it.
    """
    y, p = np.asarray(y, float), np.asarray(p, float)
    if y.size == 0:
        return 1.5
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    positives = ys.sum()
    errors = np.cumsum(1 - ys) + positives - np.cumsum(ys)      # predicting the top j+1 as positive
    ends = np.flatnonzero(np.r_[ps[1:] < ps[:-1], True])          # cuts only between distinct values
    best_j, best_err = 0, positives
    for j in ends:
        if errors[j] < best_err:
            best_j, best_err = j + 1, errors[j]
    if best_j == 0:
        return 1.5
    lower = ps[best_j] if best_j < ps.size else 0.0
    return float((ps[best_j - 1] + lower) / 2.0)


def best_thresholds(y_loc, p_loc, columns):
    return {c: best_threshold(y_loc[:, j], p_loc[:, j]) for j, c in enumerate(columns)}


def apply_thresholds(p_loc, thresholds, columns):
    return np.stack([(p_loc[:, j] >= thresholds[c]).astype(int) for j, c in enumerate(columns)], axis=1)


def bootstrap_auc_ci(y, p, n=1000, seed=0, level=0.95):
    """Percentile bootstrap interval of the ROC AUC over resampled rows (bootstrap.py)."""
    y, p = np.asarray(y), np.asarray(p)
    return percentile_interval(lambda idx: auc(y[idx], p[idx]), y.size, n, seed, level)


def score_report(y, p, columns, primary, location_output=None, n_boot=1000):
    """Every number the harness reports for predictions ``p`` against truth ``y`` (both (n, T), column order
    ``columns``). ``location_output`` holds the location values that the organizers' accuracy is computed on
    (the 0/1 output); by default the location columns of ``p``.
    """
    y, p = np.asarray(y, float), np.asarray(p, float)
    pi = columns.index(primary)
    loc = [j for j in range(len(columns)) if j != pi]
    aucs = column_aucs(y, p, columns)
    out_loc = p[:, loc] if location_output is None else np.asarray(location_output, float)
    lo, hi = bootstrap_auc_ci(y[:, pi], p[:, pi], n=n_boot) if n_boot else (float("nan"), float("nan"))
    return dict(
        n=int(y.shape[0]), primary=primary, n_locations=len(loc), aucs=aucs, primary_auc=aucs[primary],
        primary_auc_ci95=[lo, hi],
        mean_location_auc=mean_location_auc(y, aucs, [columns[j] for j in loc], columns),
        rsna_weighted_auc=rsna_weighted(aucs, primary),
        location_accuracy=location_accuracy(y[:, loc], out_loc),
        location_accuracy_all_zeros=location_accuracy(y[:, loc], np.zeros_like(out_loc)),
        prevalence={c: float(y[:, j].mean()) for j, c in enumerate(columns)},
        positives={c: int(y[:, j].sum()) for j, c in enumerate(columns)},
    )


def format_report(rep, title):
    """A plain-text table of a score_report."""
    def f(v):
        return "   n/a" if v != v else f"{v:.4f}"

    located = rep.get("n_locations", 1) > 0          # a task with one target has no location numbers
    lines = [title, f"  samples: {rep['n']}",
             f"  organizers' numbers:  {rep['primary']} AUROC {f(rep['primary_auc'])}" + (
                 f"   location accuracy {f(rep['location_accuracy'])}  (all-zeros baseline "
                 f"{f(rep['location_accuracy_all_zeros'])})" if located else ""),
             f"  {rep['primary']} AUROC 95% bootstrap CI: [{f(rep['primary_auc_ci95'][0])}, "
             f"{f(rep['primary_auc_ci95'][1])}]"]
    if located:
        lines.append(f"  mean location AUROC {f(rep['mean_location_auc'])} (locations with >= {MIN_POSITIVES} "
                     f"positives)   RSNA-style weighted AUROC {f(rep['rsna_weighted_auc'])}")
    lines.append(f"  {'column':<12} {'AUROC':>7} {'positives':>9} {'prevalence':>10}")
    for c, a in rep["aucs"].items():
        lines.append(f"  {c:<12} {f(a):>7} {rep['positives'][c]:>9} {rep['prevalence'][c]:>10.3f}")
    return "\n".join(lines)
