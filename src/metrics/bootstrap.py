"""The one bootstrap of the harness: a percentile interval of any statistic over items resampled with replacement
(Efron & Tibshirani 1993), used for the AUROC of a table and the mean lesion AUPR of a folder of maps."""
import numpy as np

NAN2 = (float("nan"), float("nan"))


def percentile_interval(statistic, n, n_boot=1000, seed=0, level=0.95):
    """(low, high): the percentile interval at ``level`` of ``statistic(indices)`` over ``n_boot`` resamples of
    ``n`` items drawn with replacement by a generator seeded with ``seed`` (the same resamples every run).

    A resample on which the statistic is undefined (NaN, e.g. an AUROC of one class) is left out; (NaN, NaN) when
    ``n_boot`` <= 0, there are fewer than 2 items, or no resample is defined."""
    if n_boot <= 0 or n < 2:
        return NAN2
    rng = np.random.default_rng(seed)
    values = np.asarray([statistic(rng.integers(0, n, n)) for _ in range(n_boot)], float)
    values = values[~np.isnan(values)]
    if not values.size:
        return NAN2
    lo, hi = np.percentile(values, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)
