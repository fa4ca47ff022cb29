"""Pictures of scores (evaluate.py --plots): ROC curves and calibration of a table, precision-recall curves of
lesion maps. scikit-learn computes the curves; utilities/pictures.py draws off-screen and writes atomically."""
import numpy as np
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import RocCurveDisplay

from ..utilities.files import keep_previous
from ..utilities.pictures import plt, save
from .classification import MIN_POSITIVES


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
