"""Multilabel-stratified folds, one row per sample, persisted beside the weights and reused."""
import logging

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

from ..utilities.errors import UserError
from ..utilities.files import atomic_write_csv

log = logging.getLogger("harness")


def make_folds(ids, labels, n_folds, seed):
    """fold number per sample (array aligned with ids), stratified over every label column."""
    if len(ids) < n_folds:
        raise UserError(f"{len(ids)} samples cannot make {n_folds} folds")
    fold = np.full(len(ids), -1, dtype=int)
    splitter = MultilabelStratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (_, val) in enumerate(splitter.split(np.zeros(len(ids)), labels)):
        fold[val] = k
    return fold


def load_or_make(path, ids, labels, n_folds, seed):
    """Read ``folds.csv`` when it exists (and matches the data), else make and write it."""
    if path.is_file():
        table = pd.read_csv(path, dtype={"id": str})
        if set(table["id"]) != set(ids) or len(table) != len(ids):
            extra = sorted(set(table["id"]) - set(ids))[:5]
            new = sorted(set(ids) - set(table["id"]))[:5]
            raise UserError(f"{path} was made for other data (ids only in folds.csv: {extra}, only in the "
                            f"data: {new}); use another --weights_dir or delete folds.csv to re-split")
        found = int(table["fold"].max()) + 1
        if found != n_folds:
            raise UserError(f"{path} holds {found} folds but --n_folds is {n_folds}; use another --weights_dir")
        log.info("folds: reusing %s", path)
        return table.set_index("id").loc[list(ids), "fold"].to_numpy()
    fold = make_folds(ids, labels, n_folds, seed)
    atomic_write_csv(pd.DataFrame({"id": list(ids), "fold": fold}), path)
    log.info("folds: wrote %s (%d folds, seed %d)", path, n_folds, seed)
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
