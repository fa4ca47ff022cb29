"""Multilabel-stratified folds: balance, persistence, reuse, and a clear error on changed data."""
import numpy as np
import pandas as pd
import pytest

from src.data.folds import load_or_make, make_folds
from src.utilities.errors import UserError


def labels(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros((n, 4), int)
    y[:, 0] = rng.random(n) < 0.45
    y[:, 1] = y[:, 0] & (rng.random(n) < 0.3)
    y[:, 2] = y[:, 0] & (rng.random(n) < 0.1)
    y[:, 3] = y[:, 0] & (rng.random(n) < 0.05)
    return y


def test_folds_are_stratified_over_every_label():
    y = labels()
    fold = make_folds([str(i) for i in range(len(y))], y, 5, seed=1)
    assert set(fold) == set(range(5))
    sizes = np.bincount(fold)
    assert sizes.max() - sizes.min() <= 2
    for j in range(y.shape[1]):
        per_fold = np.bincount(fold[y[:, j] == 1], minlength=5)
        assert per_fold.max() - per_fold.min() <= 2, (j, per_fold)


def test_folds_are_written_once_and_reused(tmp_path):
    y = labels()
    ids = [str(1000 + i) for i in range(len(y))]
    path = tmp_path / "folds.csv"
    first = load_or_make(path, ids, y, 5, seed=3)
    assert path.is_file()
    table = pd.read_csv(path, dtype={"id": str})
    assert table["id"].tolist() == ids
    again = load_or_make(path, ids[::-1], y[::-1], 5, seed=99)      # other order and seed: the file wins
    assert dict(zip(ids[::-1], again)) == dict(zip(ids, first))
    assert (make_folds(ids, y, 5, seed=3) == first).all()            # seeded: reproducible


def test_changed_data_or_fold_count_is_refused(tmp_path):
    y = labels()
    ids = [str(i) for i in range(len(y))]
    path = tmp_path / "folds.csv"
    load_or_make(path, ids, y, 5, seed=0)
    with pytest.raises(UserError, match="other data"):
        load_or_make(path, ids[:-1] + ["new"], y, 5, seed=0)
    with pytest.raises(UserError, match="folds"):
        load_or_make(path, ids, y, 4, seed=0)
