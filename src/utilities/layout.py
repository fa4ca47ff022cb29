"""The weights folder, in one place: what train.py writes where, and what test.py and the tools read back.

    weights/
      folds.csv              the split (id -> fold), made once and reused by every run into this folder
      cv_summary.json        out-of-fold scores of all folds (and the location thresholds test.py uses)
      fold_K/best.pt         the shipped checkpoint of fold K (weights, their config, model_args, thresholds)
      fold_K/last.pt         the resumable state (optimizer, scheduler, history); never shipped
      fold_K/oof.csv         out-of-fold predictions of fold K's best epoch
      fold_K/metrics.csv     one row per epoch; training_curve.png, train.log and config.yaml beside it
      attempts/fold_K_seedS  a fold's try that never learned, moved aside before a restart; never shipped

    An ensemble of runs (python -m src.tools.experiments.blend) is a weights folder too:
      ensemble.json          the members, their weights and how they are averaged (test.py reads it)
      folds.csv, cv_summary.json   the members' shared split; the blend's out-of-fold scores and thresholds
      members/NAME/fold_K/best.pt  each member's fold checkpoints (config.yaml beside them)
"""
from pathlib import Path

FOLDS_CSV = "folds.csv"
SUMMARY = "cv_summary.json"
ATTEMPTS = "attempts"
BEST_GLOB = "fold_*/best.pt"
ENSEMBLE = "ensemble.json"
MEMBERS = "members"


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
    """Every fold_K/config.yaml of a run, or of every member of an ensemble."""
    own = sorted(Path(weights_dir).glob("fold_*/config.yaml"))
    return own or sorted(Path(weights_dir).glob(f"{MEMBERS}/*/fold_*/config.yaml"))


def ensemble(weights_dir):
    return Path(weights_dir) / ENSEMBLE


def member_dir(weights_dir, name):
    return Path(weights_dir) / MEMBERS / name


def shipped_checkpoints(weights_dir):
    """The best.pt files a submission ships: the run's folds, or every member's."""
    return best_checkpoints(weights_dir) + sorted(Path(weights_dir).glob(f"{MEMBERS}/*/{BEST_GLOB}"))


def attempt_dir(weights_dir, k, seed):
    return Path(weights_dir) / ATTEMPTS / f"fold_{k}_seed{seed}"


def attempts_of(weights_dir, k):
    return list((Path(weights_dir) / ATTEMPTS).glob(f"fold_{k}_seed*"))
