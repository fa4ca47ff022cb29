"""Pixel scores of probability maps, from per-image histograms (memory flat whatever the number of images).

A map's probabilities are stored as 256 levels (a PNG of probability x 255, or the rounded network output), so
a histogram of the levels of lesion and background pixels holds everything the precision-recall curve needs:
the area under it (average precision, the IDRiD challenge's lesion metric; the same number as scikit-learn's
``average_precision_score`` on the quantised maps), and Dice and IoU at probability 0.5. Histograms add up over
images, folds and bootstrap resamples. Binary masks (a segmentation task's) are scored from per-image overlap
counts; an image whose true mask is empty has no Dice of its own (``mask_scores``).
"""
import numpy as np
import torch
from sklearn.metrics import cohen_kappa_score

from .bootstrap import percentile_interval
from .classification import auc

LEVELS = 256
HALF = 128                       # level of probability 0.5 (round(0.5 * 255) = 128)


def quantise(probs):
    """Probabilities (a tensor or array) -> uint8 levels 0..255."""
    if torch.is_tensor(probs):
        return (probs.float() * 255).round().clamp(0, 255).to(torch.uint8)
    return np.clip(np.round(np.asarray(probs, np.float32) * 255), 0, 255).astype(np.uint8)


def histograms(levels, truth):
    """Per image and map: counts of each level among background [.., 0, :] and lesion [.., 1, :] pixels.

    levels: uint8 (B, M, H, W); truth: bool (B, M, H, W). Returns int64 (B, M, 2, 256)."""
    levels, truth = torch.as_tensor(levels), torch.as_tensor(truth)
    b, m = levels.shape[:2]
    cell = torch.arange(b * m, device=levels.device).view(b, m, 1, 1) * (2 * LEVELS)
    index = cell + truth.long() * LEVELS + levels.long()
    counts = torch.bincount(index.flatten(), minlength=b * m * 2 * LEVELS)
    return counts.view(b, m, 2, LEVELS).cpu().numpy()


def _cumulative(hist):
    """True and false positives when every level >= t counts as lesion, for t = 255 .. 0."""
    neg, pos = np.asarray(hist, np.float64)
    return np.cumsum(pos[::-1]), np.cumsum(neg[::-1])


def average_precision(hist):
    """Area under the precision-recall curve of a (2, 256) histogram (sum over steps of recall gained x
    precision); NaN when there is no lesion pixel."""
    tp, fp = _cumulative(hist)
    if tp[-1] == 0:
        return float("nan")
    recall = tp / tp[-1]
    gained = np.diff(recall, prepend=0.0)
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    return float((gained * precision).sum())


def pr_curve(hist):
    """(recall, precision) of a (2, 256) histogram, from the highest threshold down."""
    tp, fp = _cumulative(hist)
    keep = (tp + fp) > 0
    return tp[keep] / max(tp[-1], 1), tp[keep] / (tp + fp)[keep]


def dice_iou(hist, level=HALF):
    """Dice and IoU of the pixels at or above ``level`` (probability 0.5); NaN when both are empty."""
    neg, pos = np.asarray(hist, np.float64)
    tp, fp, fn = pos[level:].sum(), neg[level:].sum(), pos[:level].sum()
    if tp + fp + fn == 0:
        return float("nan"), float("nan")
    return float(2 * tp / (2 * tp + fp + fn)), float(tp / (tp + fp + fn))


def overlap_counts(pred, truth):
    """Per image pixel counts (intersection, predicted area, true area) of boolean masks pred, truth (n, ...):
    int64 (n, 3), to be summed or scored by ``mask_scores``."""
    pred, truth = (np.asarray(a, bool).reshape(len(a), -1) for a in (pred, truth))
    return np.stack([(pred & truth).sum(1), pred.sum(1), truth.sum(1)], axis=1).astype(np.int64)


def mask_scores(counts):
    """Dice and IoU of per-image overlap counts (n, 3) (``overlap_counts``), under the empty-truth rule.

    An image whose true mask is empty has no Dice of its own: ``dice`` and ``iou`` (per image, (n,)) are NaN
    there, whatever was predicted (``false_positive_images`` counts those with a predicted mask).
    ``mean_dice`` / ``mean_iou``: the mean over the images with a true mask, NaN when none has one (an empty
    truth never scores 1.0). ``pooled_dice`` / ``pooled_iou``: from the intersections and areas summed over all
    images, so a mask predicted on an empty truth counts against them (NaN when everything is empty).
    Also ``n`` and ``empty_truth`` (images)."""
    inter, pred, true = np.asarray(counts, np.float64).reshape(-1, 3).T
    has = true > 0
    union = pred + true - inter
    dice = np.where(has, 2 * inter / np.maximum(pred + true, 1), np.nan)
    iou = np.where(has, inter / np.maximum(union, 1), np.nan)
    total, joint = pred.sum() + true.sum(), union.sum()
    return dict(dice=dice, iou=iou, n=len(dice), empty_truth=int((~has).sum()),
                false_positive_images=int(((~has) & (pred > 0)).sum()),
                mean_dice=float(dice[has].mean()) if has.any() else float("nan"),
                mean_iou=float(iou[has].mean()) if has.any() else float("nan"),
                pooled_dice=float(2 * inter.sum() / total) if total else float("nan"),
                pooled_iou=float(inter.sum() / joint) if joint else float("nan"))


def lesion_scores(hists, names):
    """{name: {aupr, dice, iou, prevalence}} of summed histograms (M, 2, 256) or per-image ones (n, M, 2, 256)."""
    hists = np.asarray(hists)
    total = hists.sum(0) if hists.ndim == 4 else hists
    out = {}
    for j, name in enumerate(names):
        dice, iou = dice_iou(total[j])
        pixels = total[j].sum()
        out[name] = dict(aupr=average_precision(total[j]), dice=dice, iou=iou,
                         prevalence=float(total[j][1].sum() / pixels) if pixels else float("nan"))
    return out


def mean_aupr(hists):
    """Mean over the maps (lesion types) of the AUPR of summed (n, M, 2, 256) histograms (NaN ones left out)."""
    values = [average_precision(h) for h in np.asarray(hists).sum(0)]
    return float(np.nanmean(values)) if not np.isnan(values).all() else float("nan")


def bootstrap_mean_aupr(hists, n_boot, seed=0):
    """95% interval of the mean lesion AUPR over images resampled with replacement (bootstrap.py); (NaN, NaN)
    without any."""
    hists = np.asarray(hists)
    return percentile_interval(lambda idx: mean_aupr(hists[idx]), len(hists), n_boot, seed)


def grade_scores(grades, probs):
    """Quadratic-weighted kappa of the arg-max grade and the mean one-vs-rest AUROC of the grade
    probabilities (grades present in ``grades`` only)."""
    grades, probs = np.asarray(grades).astype(int), np.asarray(probs, float)
    kappa = float(cohen_kappa_score(grades, probs.argmax(1), weights="quadratic",
                                    labels=np.arange(probs.shape[1])))
    aucs = [auc(grades == g, probs[:, g]) for g in range(probs.shape[1])]
    aucs = [a for a in aucs if a == a]
    return dict(kappa=kappa, auroc=float(np.mean(aucs)) if aucs else float("nan"))
