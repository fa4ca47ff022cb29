"""Scores against scikit-learn and against the organizers' formula on hand-made cases."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from src.metrics.classification import (
    apply_thresholds,
    auc,
    best_threshold,
    bootstrap_auc_ci,
    location_accuracy,
    rsna_weighted,
    score_report,
)


def test_auc_matches_sklearn_and_is_nan_for_one_class():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = rng.random(200) + 0.3 * y
    assert auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert np.isnan(auc(np.zeros(5), np.arange(5)))


def test_location_accuracy_is_the_organizers_formula():
    truth = np.array([[0, 1, 0], [0, 0, 0]])
    output = np.array([[0, 1, 1], [1, 0, 0]])
    assert location_accuracy(truth, output) == pytest.approx(1 - 2 / 6)
    assert location_accuracy(truth, np.zeros_like(truth)) == pytest.approx(1 - 1 / 6)


@pytest.mark.parametrize("y,p,expect_pos", [
    ([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.9], [3]),          # clean separation: only the top one
    ([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.9], []),           # no positives: never predict 1
    ([1, 0, 0, 0], [0.1, 0.2, 0.3, 0.9], []),           # inverted: all zeros beats any cut
    ([0, 1, 1, 0, 0], [0.1, 0.8, 0.7, 0.75, 0.2], [1]),  # top 1 and top 3 both make 1 error: fewer positives
])
def test_best_threshold_minimises_errors(y, p, expect_pos):
    t = best_threshold(y, p)
    pred = (np.asarray(p) >= t).astype(int)
    assert sorted(np.flatnonzero(pred)) == expect_pos
    errors = (pred != np.asarray(y)).sum()
    for cut in list(p) + [2.0]:                          # no other cut makes fewer errors
        assert ((np.asarray(p) >= cut).astype(int) != np.asarray(y)).sum() >= errors


def test_best_threshold_prefers_fewer_positives_on_ties():
    # predicting nothing and predicting the top two (0.95 wrong, 0.9 right) both make 1 error
    y, p = [0, 1, 0], [0.2, 0.9, 0.95]
    assert best_threshold(y, p) > 0.95


def test_apply_thresholds_and_rsna_weighted():
    p = np.array([[0.2, 0.9], [0.6, 0.1]])
    out = apply_thresholds(p, {"a": 0.5, "b": 1.5}, ["a", "b"])
    assert out.tolist() == [[0, 0], [1, 0]]
    aucs = {"P": 0.9, "a": 0.7, "b": 0.5, "c": float("nan")}
    assert rsna_weighted(aucs, "P") == pytest.approx(0.5 * 0.9 + 0.5 * 0.6)
    assert rsna_weighted(aucs, "P", primary_weight=13) == pytest.approx((13 * 0.9 + 0.7 + 0.5) / 15)


def test_bootstrap_interval_brackets_the_auc():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    p = rng.random(300) + 0.5 * y
    lo, hi = bootstrap_auc_ci(y, p, n=300)
    assert lo < auc(y, p) < hi and hi - lo < 0.2


def test_score_report_numbers():
    y = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 1], [0, 0, 0]])
    p = np.array([[0.9, 1, 0], [0.2, 0, 0], [0.6, 0, 0], [0.4, 0, 1]])
    rep = score_report(y, p, ["P", "a", "b"], "P", n_boot=0)
    assert rep["primary_auc"] == 1.0
    assert rep["location_accuracy"] == pytest.approx(1 - 2 / 8)
    assert rep["location_accuracy_all_zeros"] == pytest.approx(1 - 2 / 8)
    assert rep["positives"] == {"P": 2, "a": 1, "b": 1}


def test_mean_location_auc_counts_locations_with_three_positives_or_more():
    cols = ["P", "A", "B"]
    y = np.zeros((20, 3))
    y[:10, 0] = 1
    y[:3, 1] = 1                       # A: 3 positives, perfectly ranked
    y[:2, 2] = 1                       # B: 2 positives, ranked last: AUROC 0, left out of the mean
    p = np.zeros((20, 3))
    p[:, 0] = y[:, 0]
    p[:, 1] = y[:, 1]
    p[:, 2] = 1 - y[:, 2]
    rep = score_report(y, p, cols, "P", n_boot=0)
    assert rep["aucs"]["B"] == 0.0 and rep["mean_location_auc"] == 1.0
    y[2, 1] = 0                        # A down to 2 positives: no location qualifies
    assert np.isnan(score_report(y, p, cols, "P", n_boot=0)["mean_location_auc"])
