"""Pictures: ROC curves and calibration (evaluate.py --plots), the training curve of a fold (train.py).

matplotlib draws off-screen (Agg); scikit-learn computes the curves. Every file is written atomically.
"""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.calibration import CalibrationDisplay  # noqa: E402
from sklearn.metrics import RocCurveDisplay  # noqa: E402

from .io_utils import atomic_write_bytes, keep_previous  # noqa: E402
from .metrics import MIN_POSITIVES  # noqa: E402

DPI = 100


def save(fig, path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def zero_one(values):
    """A column of 0/1 labels rather than probabilities."""
    return bool(np.isin(values, [0, 1]).all())


def plottable(y, columns):
    """Columns with both classes and at least MIN_POSITIVES positives (a curve from fewer is noise)."""
    return [c for j, c in enumerate(columns) if MIN_POSITIVES <= y[:, j].sum() < len(y)]


def roc_figure(y, p, columns, groups, path, subtitle=""):
    """One panel per (title, columns) group; each curve's legend holds its AUROC."""
    fig, axes = plt.subplots(1, len(groups), figsize=(6.5 * len(groups), 6.2), squeeze=False)
    for ax, (title, cols) in zip(axes[0], groups):
        colors = plt.colormaps["tab20"](np.linspace(0, 1, max(len(cols), 2)))
        for c, color in zip(cols, colors):
            j = columns.index(c)
            note = ", 0/1 output" if zero_one(p[:, j]) else ""
            RocCurveDisplay.from_predictions(
                y[:, j], p[:, j], name=f"{c} (n+={int(y[:, j].sum())}{note})", ax=ax,
                curve_kwargs=dict(color=color, lw=2 if len(cols) == 1 else 1.2),
                plot_chance_level=c == cols[0])
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=8 if len(cols) > 6 else 10)
        ax.set_aspect("equal")
    if subtitle:
        fig.suptitle(subtitle, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def calibration_figure(y, p, columns, shown, path, subtitle=""):
    """Reliability curves of the ``shown`` columns (observed rate against mean predicted probability, quantile
    bins) above a histogram of their predictions."""
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(6.5, 8), gridspec_kw=dict(height_ratios=[3, 1]))
    colors = plt.colormaps["tab10"](np.linspace(0, 1, 10))
    for i, c in enumerate(shown):
        j = columns.index(c)
        bins = int(np.clip(len(y) // 20, 3, 10))
        CalibrationDisplay.from_predictions(y[:, j], p[:, j], n_bins=bins, strategy="quantile", name=c, ax=ax,
                                            ref_line=i == 0, color=colors[i % 10])
        hist.hist(p[:, j], bins=20, range=(0, 1), histtype="step", color=colors[i % 10], label=c)
    ax.set_title("calibration (quantile bins)" + (f"\n{subtitle}" if subtitle else ""))
    ax.legend(loc="upper left", fontsize=9)
    hist.set_xlabel("predicted probability")
    hist.set_ylabel("samples")
    fig.tight_layout()
    return save(fig, path)


def keep_pictures(folder):
    for name in ("roc.png", "calibration.png"):
        keep_previous(folder / name)


def multiclass_evaluation_plots(y, p, columns, folder, source):
    """One-vs-rest ROC and calibration PNGs of an evaluated class table; the paths written (old ones: NAME.bak)."""
    keep_pictures(folder)
    subtitle = f"{source}, {len(y)} samples"
    cols = plottable(y, columns)
    return [roc_figure(y, p, columns, [("one-vs-rest ROC per class", cols)], folder / "roc.png", subtitle),
            calibration_figure(y, p, columns, cols, folder / "calibration.png", subtitle)]


def binary_evaluation_plots(y, p, columns, primary, folder, source):
    """ROC (primary; locations with enough positives) and calibration PNGs of an evaluated table; the paths
    written (pictures already in the folder are kept as NAME.bak)."""
    keep_pictures(folder)
    subtitle = f"{source}, {len(y)} samples"
    locs = [c for c in plottable(y, columns) if c != primary]
    labels_only = bool(locs) and all(zero_one(p[:, columns.index(c)]) for c in locs)
    title = f"locations with >= {MIN_POSITIVES} positives" + (
        "\n(0/1 labels: one point each; test.py --location_probs for curves)" if labels_only else "")
    groups = [(primary, [primary])] + ([(title, locs)] if locs else [])
    paths = [roc_figure(y, p, columns, groups, folder / "roc.png", subtitle)]
    # the primary target and the five locations with the most positives, where the output is a probability
    by_positives = sorted(locs, key=lambda c: -y[:, columns.index(c)].sum())
    probabilistic = [c for c in [primary] + by_positives if not zero_one(p[:, columns.index(c)])]
    paths.append(calibration_figure(y, p, columns, probabilistic[:6], folder / "calibration.png", subtitle))
    return paths


def pr_curves(curves, folder, source):
    """One precision-recall curve per lesion type ({name: (recall, precision, AUPR)}) in pr_curves.png; an old
    picture is kept as pr_curves.png.bak. Returns the path."""
    path = folder / "pr_curves.png"
    keep_previous(path)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, (recall, precision, ap) in curves.items():
        ax.step(recall, precision, where="post", label=f"{name} (AUPR {ap:.3f})")
    ax.set(xlabel="recall (lesion pixels found)", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title=f"pixel precision-recall per lesion\n{source}")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return save(fig, path)


def training_curve(history, path, title, best_epoch=None):
    """Losses (left) and validation scores (right) per epoch; the best epoch marked."""
    epochs = [r["epoch"] for r in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, style in (("train_loss", "-o"), ("val_loss", "-s")):
        if key in history[0]:
            left.plot(epochs, [r[key] for r in history], style, ms=3, label=key.replace("_", " "))
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    # headline scores only: not the loss, the validation seconds or the per-class AUROCs of a multiclass task
    scores = [k for k in history[0] if k.startswith("val_") and k not in ("val_loss", "val_s")
              and (not k.startswith("val_auc_") or k == "val_auc_primary")]
    for key in scores:
        right.plot(epochs, [r[key] for r in history], "-o", ms=3, label=key[4:].replace("_", " "))
    right.set_xlabel("epoch")
    right.set_ylabel("validation score")
    values = [r[k] for r in history for k in scores if r[k] == r[k]]
    right.set_ylim(min([0.4] + values) - 0.02, 1.01)
    for ax in (left, right):
        if best_epoch:
            ax.axvline(best_epoch, color="grey", ls="--", lw=1, label="best epoch")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if ax is right else "upper right")
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def gradcam_grid(images, cams, titles, suptitle, path):
    """Views (gray or RGB, [0, 1]) with their heat maps ([0, 1]) in a grid of up to four columns."""
    n = len(images)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.6 * rows + 1.1), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, cam, title in zip(axes.flat, images, cams, titles):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        heat = plt.colormaps["jet"](cam)
        heat[..., 3] = 0.6 * cam                      # transparent where there is no evidence
        ax.imshow(heat)
        ax.set_title(title, fontsize=9)
    fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return save(fig, path)
