"""predict(): fold-ensembled predictions for a test folder, written as the organizers' CSV (or as masks).
test.py parses its options and calls it; a notebook calls it directly."""
import logging
import os
import tempfile
from pathlib import Path

from ..data.check import load_checked
from ..tasks import kind_of
from ..tasks.base import PredictionRun
from ..utilities import config as C
from ..utilities import layout
from ..utilities.errors import UserError
from ..utilities.files import writable_file, writable_folder
from ..utilities.runtime import default_workers, pick_device
from .blend import predict_ensemble, read_manifest
from .ensemble import load_folds, load_models

log = logging.getLogger("harness")
os.environ.setdefault("HF_HUB_OFFLINE", "1")      # inference never reaches a model hub
AUTO = "auto"


def predict(data_dir, weights_dir=None, out=AUTO, device="auto", tta=False, location_probs=False,
            mask_weights=None, batch_size=8, num_workers=None):
    """Predict every sample of ``data_dir`` with every trained fold of ``weights_dir`` and return the table.

    out: a file (folder, for a segmentation task) to write and check; "auto": output.csv (pred_masks/) in the
    current folder; None: write nothing. tta: also the mirrored patient. location_probs: location
    probabilities instead of 0/1. mask_weights: image+mask tasks, segmentation weights for test images
    without masks (default: the config's data.mask_weights)."""
    weights_dir = C.project_path(weights_dir, C.DEFAULT_WEIGHTS)
    ensemble = layout.ensemble(weights_dir).is_file()
    if ensemble:                      # runs averaged (python -m src.tools.experiments.blend); each loads its folds
        manifest = read_manifest(weights_dir)
        ckpts, cfg = [], C.complete(manifest["config"])
        log.info("weights: an ensemble of %d runs from %s (%s average)", len(manifest["members"]), weights_dir,
                 manifest["average"])
    else:
        ckpts, cfg = load_folds(weights_dir)
    kind = kind_of(cfg)
    if out == AUTO:
        out = kind.default_out
    out = None if out is None else Path(out).expanduser()
    if out is not None:               # before any work: a destination that cannot be written is one line now
        (writable_folder if kind.output_is_folder else writable_file)(out, "--out")
    # the whole check, as python -m src.check_data runs it (near-blank, undecodable, far too small ...)
    samples = load_checked(data_dir, cfg, "test")
    device = pick_device(device)
    run = PredictionRun(load_models(ckpts, device), ckpts, samples, weights_dir, device,
                        default_workers(num_workers), batch_size, tta, location_probs)
    with tempfile.TemporaryDirectory(prefix="masks_") as tmp:
        if samples.mask_paths is not None:
            predict_missing_masks(run, cfg, mask_weights, Path(tmp))
        if ensemble:
            return predict_ensemble(weights_dir, samples, device, run.workers, batch_size, tta, location_probs,
                                    out)
        return kind.write_predictions(run, out)


def predict_missing_masks(run, cfg, mask_weights, tmp):
    """Masks for the samples that have none, from the segmenter's folds; returns how many were made."""
    samples = run.samples
    missing = [i for i, m in enumerate(samples.mask_paths) if m[0] is None]
    source = mask_weights or cfg["data"]["mask_weights"]
    if not missing or not source:
        return 0
    seg_dir = C.project_path(mask_weights, C.PROJECT_ROOT / str(source))
    if not layout.best_checkpoints(seg_dir):
        log.warning("%d samples have no mask and there are no segmentation weights in %s: the whole image is "
                    "used for them (train configs/cxr_lungseg.yaml into that folder, or pass --mask_weights)",
                    len(missing), seg_dir)
        return 0
    seg_ckpts, seg_cfg = load_folds(seg_dir)
    segmenter = kind_of(seg_cfg)
    if not segmenter.produces_masks:
        raise UserError(f"{seg_dir} does not hold segmentation weights")
    log.info("predicting lung masks for %d samples with %s", len(missing), seg_dir)
    written = segmenter.write_masks(load_models(seg_ckpts, run.device), samples, missing, run.device, run.workers,
                                    run.batch_size, tmp)
    for i, path in zip(missing, written):
        samples.mask_paths[i] = [path]
    return len(written)
