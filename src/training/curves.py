"""The training curve of a fold (fold_K/training_curve.png, redrawn after every epoch): losses and validation
scores per epoch, the best epoch marked."""
from ..utilities.pictures import plt, save


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
