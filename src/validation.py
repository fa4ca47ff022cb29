"""One validation pass per task kind: scores for early stopping, the metrics row, and the out-of-fold table."""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from . import config as C
from . import targets as T
from .distributed import gather
from .metrics import best_thresholds, column_aucs
from .predict import predict


@dataclass
class Validation:
    score: list                  # compared lexicographically; higher is better
    row: dict                    # metrics.csv columns
    oof: pd.DataFrame            # out-of-fold predictions of this fold
    extras: dict = field(default_factory=dict)   # stored in best.pt (thresholds, validation scores)
    text: str = ""               # for the epoch log line
    chance: float = float("nan")  # a headline score at or below this is within the chance band (never learned)


def classification(cfg, model, loader, device, samples, va, fold):
    cols = C.target_columns(cfg)
    y = samples.labels[va]
    probs, _, order = predict([model], loader, device, activation=lambda z: T.probabilities(cfg, z))
    (probs,) = gather(order, probs)                   # all validation samples, in order, on every rank
    val_loss = float(T.loss(cfg, T.logits_of_probabilities(cfg, probs), torch.from_numpy(y)))
    headline, scores, more = T.validation_scores(cfg, y, probs)
    extras = dict(val_scores=dict(aucs=column_aucs(y, probs, cols), val_loss=val_loss, **scores))
    if T.kind(cfg) == "binary":
        locs = C.location_columns(cfg)
        j = [cols.index(c) for c in locs]
        extras["thresholds"] = best_thresholds(y[:, j], probs[:, j], locs)
    chance = T.chance_upper(cfg, y)
    oof = pd.DataFrame({"id": [samples.ids[i] for i in va], "fold": fold})
    for jj, c in enumerate(cols):
        oof[c] = probs[:, jj]
    for jj, c in enumerate(cols):
        oof[f"{c}_true"] = y[:, jj].astype(int)
    # headline score first; validation loss breaks ties (a saturated or undefined AUROC)
    score = [headline if headline == headline else -np.inf, -val_loss]
    text = "  ".join(f"{k} {v:.4f}" for k, v in scores.items())
    return Validation(score, dict(val_loss=val_loss, **scores, **more), oof, extras,
                      f"val_loss {val_loss:.4f}  {text}", chance)
