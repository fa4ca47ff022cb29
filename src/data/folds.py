"""Cross-validation folds, one row per sample, persisted beside the weights and reused.

Stratified over every label column (MultilabelStratifiedKFold, Sechidis et al. 2011, for two or more columns;
scikit-learn's StratifiedKFold for one; KFold when the labels cannot stratify). With groups (``data.group``: the
patient of a study or a breast) whole groups are dealt out, stratified on each group's labels (the largest value
of its samples), so that no patient's samples sit in two folds and the CV does not leak."""
import logging

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold
from sklearn.model_selection import KFold, StratifiedKFold

from ..utilities.errors import UserError
from ..utilities.files import atomic_write_csv

log = logging.getLogger("harness")


def splitter(labels, n_folds, seed):
    """The splitter that stratifies ``labels`` (n, T) best: multilabel for T >= 2 varying columns, plain for
    one, none when no column varies or a class is too rare to be in every fold."""
    varying = [j for j in range(labels.shape[1]) if np.unique(labels[:, j]).size > 1]
    if len(varying) >= 2:
        return MultilabelStratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed), labels
    if len(varying) == 1:
        y = labels[:, varying[0]]
        if np.unique(y, return_counts=True)[1].min() >= n_folds:
            return StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed), y
    return KFold(n_splits=n_folds, shuffle=True, random_state=seed), None


def make_folds(ids, labels, n_folds, seed, groups=None):
    """Fold number per sample (an array aligned with ids), stratified over every label column; with ``groups``
    (one per sample) every group in one fold. Missing labels (NaN) count as 0 for the stratification."""
    labels = np.nan_to_num(np.asarray(labels, np.float64).reshape(len(ids), -1))
    if groups is None:                             # every sample its own group, in their order
        names, member = np.arange(len(ids)), np.arange(len(ids))
    else:
        names, member = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    if len(names) < n_folds:
        what = "samples" if len(names) == len(ids) else "groups (data.group)"
        raise UserError(f"{len(names)} {what} cannot make {n_folds} folds")
    per_group = np.zeros((len(names), labels.shape[1]))
    np.maximum.at(per_group, member, labels)
    split, y = splitter(per_group, n_folds, seed)
    group_fold = np.full(len(names), -1, dtype=int)
    for k, (_, val) in enumerate(split.split(np.zeros(len(names)), y)):
        group_fold[val] = k
    return group_fold[member]


def split_groups(fold, groups, ids):
    """The first group whose samples sit in two folds, as (group, its folds), or None."""
    seen = {}
    for f, g in zip(fold, groups):
        seen.setdefault(str(g), set()).add(int(f))
    return next(((g, sorted(fs)) for g, fs in seen.items() if len(fs) > 1), None)


def load_or_make(path, ids, labels, n_folds, seed, groups=None):
    """Read ``folds.csv`` when it exists (and matches the data: the same ids, the fold count, no group split),
    else make and write it (with the group of every sample when there are groups)."""
    if path.is_file():
        table = pd.read_csv(path, dtype={"id": str, "group": str})
        if set(table["id"]) != set(ids) or len(table) != len(ids):
            extra = sorted(set(table["id"]) - set(ids))[:5]
            new = sorted(set(ids) - set(table["id"]))[:5]
            raise UserError(f"{path} was made for other data (ids only in folds.csv: {extra}, only in the "
                            f"data: {new}); use another --weights_dir or delete folds.csv to re-split")
        found = int(table["fold"].max()) + 1
        if found != n_folds:
            raise UserError(f"{path} holds {found} folds but --n_folds is {n_folds}; use another --weights_dir")
        fold = table.set_index("id").loc[list(ids), "fold"].to_numpy()
        broken = split_groups(fold, groups, ids) if groups is not None else None
        if broken:
            raise UserError(f"{path} puts the samples of group {broken[0]} (data.group) in folds "
                            f"{', '.join(map(str, broken[1]))}, so the CV would leak; delete folds.csv to re-split "
                            "by group (or use another --weights_dir)")
        log.info("folds: reusing %s", path)
        return fold
    fold = make_folds(ids, labels, n_folds, seed, groups)
    table = pd.DataFrame({"id": list(ids), "fold": fold})
    if groups is not None:
        table["group"] = [str(g) for g in groups]
    atomic_write_csv(table, path)
    log.info("folds: wrote %s (%d folds, seed %d%s)", path, n_folds, seed,
             f", {len(set(map(str, groups)))} groups kept whole" if groups is not None else "")
    return fold


def stratify_labels(samples, cfg):
    """Columns the folds are stratified on: the one-hot targets.stratify_column of the CSV when the config names
    one and the CSV has it, else the labels (a task learned from masks alone: no stratification)."""
    col = cfg["targets"]["stratify_column"]
    if col and col in samples.frame.columns:
        return pd.get_dummies(samples.frame[col].astype(str)).to_numpy(np.float32)
    if samples.labels is not None:
        return np.nan_to_num(samples.labels)
    return np.zeros((len(samples.ids), 1), np.float32)
