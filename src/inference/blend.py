"""Ensembles of runs: averaging the members' probabilities (or ranks) with their weights, and the prediction
of a test folder by an ensemble weights folder (ensemble.json + members/NAME/fold_K/best.pt).

The members are chosen by ``python -m src.tools.experiments.blend`` (never shipped); test.py only reads the
manifest, runs every member as it runs a single training run (its own config: image size, preprocessing, backbone) and
averages. A member's probabilities are its folds' average, as for a single run.
"""
import json
import logging
import time

import numpy as np
from scipy.stats import rankdata

from ..metrics.classification import rank_within
from ..tasks import kind_of
from ..tasks.base import PredictionRun
from ..utilities import layout
from ..utilities.errors import UserError
from .ensemble import load_folds, load_models

log = logging.getLogger("harness")
FORMAT = "mvharness-ensemble-1"
AVERAGES = ("probability", "rank")


def read_manifest(weights_dir):
    path = layout.ensemble(weights_dir)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} is not a readable ensemble manifest ({exc})") from None
    if manifest.get("format") != FORMAT or not manifest.get("members"):
        raise UserError(f"{path} is not an ensemble manifest written by python -m src.tools.experiments.blend")
    return manifest


def combine(probs, weights, average="probability", groups=None):
    """The weighted mean of the members' (n, T) probabilities; with ``average`` 'rank' of their ranks per
    column, scaled to (0, 1] (within each of ``groups``, e.g. the folds of out-of-fold predictions). One
    member with any weight gives its own values exactly."""
    if average not in AVERAGES:
        raise UserError(f"average must be one of {', '.join(AVERAGES)}, not '{average}'")
    w = np.asarray(weights, float)
    w = w / w.sum()
    out = 0.0
    for p, share in zip(probs, w):
        p = np.asarray(p, float)
        if average == "rank":
            p = np.column_stack([rank_within(p[:, j], groups) if groups is not None else
                                 rankdata(p[:, j]) / len(p) for j in range(p.shape[1])])
        out = out + share * p
    return out


def predict_ensemble(weights_dir, samples, device, workers, batch_size, tta, location_probs, out):
    """Predict ``samples`` with every member of the ensemble in ``weights_dir``, average, write ``out``."""
    manifest = read_manifest(weights_dir)
    probs, kind = [], None
    for m in manifest["members"]:
        start = time.time()
        ckpts, cfg = load_folds(layout.member_dir(weights_dir, m["name"]))
        member = kind_of(cfg)
        run = PredictionRun(load_models(ckpts, device), ckpts, samples, weights_dir, device, workers, batch_size,
                            tta, location_probs)
        probs.append(member.predict_probs(run))
        kind = kind or member
        log.info("member %s (weight %.3f, %s, %s px, %d folds): %.1f s", m["name"], m["weight"],
                 cfg["model"]["backbone"], cfg["preprocess"]["img_size"], len(ckpts), time.time() - start)
    blended = combine(probs, [m["weight"] for m in manifest["members"]], manifest["average"])
    run = PredictionRun([], [], samples, weights_dir, device, workers, batch_size, tta, location_probs)
    return kind.write_probs(run, blended, out)
