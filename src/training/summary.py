"""The cross-validation summary: out-of-fold scores of all folds (by the task's kind), written once every fold
has finished, with the thresholds test.py uses."""
import json
import logging

import pandas as pd

from ..networks.provenance import describe, provenance
from ..tasks import kind_of
from ..utilities import checkpoint as ckpt
from ..utilities import layout
from ..utilities.files import atomic_write_text

log = logging.getLogger("harness")


def finished_folds(weights_dir, n_folds):
    done = []
    for k in range(n_folds):
        last, oof = layout.last(weights_dir, k), layout.oof(weights_dir, k)
        # mapped: the flag is read without reading the weights and optimizer state
        if last.is_file() and oof.is_file() and ckpt.load(last, mmap=True).get("finished"):
            done.append(k)
    return done


def summarize(weights_dir, cfg, n_folds):
    """Write and print cv_summary.json once every fold has finished; returns it (None before that)."""
    if len(finished_folds(weights_dir, n_folds)) < n_folds:
        return None
    summary, text = kind_of(cfg).summarize(read_oof(weights_dir, range(n_folds)))
    log.info("%s", text)
    # the ImageNet weights the folds started from, once (a list only if folds started differently)
    records = provenance(weights_dir) or [cfg["model"]["imagenet"]]
    summary["imagenet"] = records[0] if len(records) == 1 else records
    log.info("ImageNet weights of the folds: %s", "; ".join(describe(r) for r in records))
    atomic_write_text(layout.summary(weights_dir), json.dumps(summary, indent=2))
    log.info("wrote %s", layout.summary(weights_dir))
    return summary


def read_oof(weights_dir, folds):
    return pd.concat([pd.read_csv(layout.oof(weights_dir, k), dtype={"id": str}) for k in folds], ignore_index=True)
