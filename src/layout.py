"""The weights folder, in one place: what train.py writes where, and what test.py and the tools read back.

    weights/
      folds.csv              the split (id -> fold), made once and reused by every run into this folder
      cv_summary.json        out-of-fold scores of all folds (and the location thresholds test.py uses)
      fold_K/best.pt         the shipped checkpoint of fold K (weights, their config, model_args, thresholds)
      fold_K/last.pt         the resumable state (optimizer, scheduler, history); never shipped
      fold_K/oof.csv         out-of-fold predictions of fold K's best epoch
      fold_K/metrics.csv     one row per epoch; training_curve.png, train.log and config.yaml beside it
      attempts/fold_K_seedS  a fold's try that never learned, moved aside before a restart; never shipped
"""
from pathlib import Path

FOLDS_CSV = "folds.csv"
SUMMARY = "cv_summary.json"
ATTEMPTS = "attempts"
BEST_GLOB = "fold_*/best.pt"


def fold_dir(weights_dir, k):
    return Path(weights_dir) / f"fold_{k}"


def best(weights_dir, k):
    return fold_dir(weights_dir, k) / "best.pt"


def last(weights_dir, k):
    return fold_dir(weights_dir, k) / "last.pt"


def oof(weights_dir, k):
    return fold_dir(weights_dir, k) / "oof.csv"


def metrics(weights_dir, k):
    return fold_dir(weights_dir, k) / "metrics.csv"


def fold_config(weights_dir, k):
    return fold_dir(weights_dir, k) / "config.yaml"


def summary(weights_dir):
    return Path(weights_dir) / SUMMARY


def folds_csv(weights_dir):
    return Path(weights_dir) / FOLDS_CSV


def best_checkpoints(weights_dir):
    """Every fold_K/best.pt of a weights folder, in fold order."""
    return sorted(Path(weights_dir).glob(BEST_GLOB), key=lambda p: p.parent.name)


def fold_configs(weights_dir):
    return sorted(Path(weights_dir).glob("fold_*/config.yaml"))


def attempt_dir(weights_dir, k, seed):
    return Path(weights_dir) / ATTEMPTS / f"fold_{k}_seed{seed}"


def attempts_of(weights_dir, k):
    return list((Path(weights_dir) / ATTEMPTS).glob(f"fold_{k}_seed*"))
