"""`python test.py`: fold-ensembled predictions for a test folder, written as the organizers' CSV (or masks)."""
import argparse
import logging
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from . import checkpoint as ckpt
from . import config as C
from . import targets as T
from .check_data import load_checked
from .cv import location_thresholds
from .dataset import MultiViewDataset, make_loader
from .errors import UserError
from .images import header_size
from .io_utils import atomic_write_bytes, atomic_write_csv, keep_previous
from .model import build_model, to_device
from .predict import predict
from .runtime import default_workers, pick_device, setup_logging
from .segmentation import predict_masks

log = logging.getLogger("harness")
os.environ.setdefault("HF_HUB_OFFLINE", "1")      # inference never reaches a model hub

EXAMPLES = """examples:
  python test.py --data_dir test_set
  python /path/to/submission/test.py --data_dir /data/test_set --out /results/output.csv --tta
"""


def parser():
    p = argparse.ArgumentParser(description="Predict a test folder with every trained fold and write output.csv.",
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True, help="test folder holding test.csv and the images")
    p.add_argument("--weights_dir", help="folder with fold_K/best.pt (default: weights/ of this project)")
    p.add_argument("--out", default="output.csv", help="output CSV (default: output.csv in the current folder)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    p.add_argument("--tta", action="store_true", help="also predict the mirrored patient (left/right swapped)")
    p.add_argument("--location_probs", action="store_true",
                   help="write location probabilities instead of 0/1 labels")
    p.add_argument("--mask_weights", help="image+mask tasks: segmentation weights folder for test sets without "
                   "masks (default: the task config's data.mask_weights)")
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--num_workers", type=int, help="decoding worker processes (default min(4, CPUs))")
    return p


def load_folds(weights_dir):
    """(checkpoints, task config) of every fold_K/best.pt; all must belong to the same task."""
    if not weights_dir.is_dir():
        raise UserError(f"weights folder not found: {weights_dir} (pass --weights_dir)")
    paths = sorted(weights_dir.glob("fold_*/best.pt"), key=lambda p: p.parent.name)
    if not paths:
        raise UserError(f"no trained folds (fold_K/best.pt) in {weights_dir}; train first or pass --weights_dir")
    ckpts = [ckpt.load(p) for p in paths]
    cfg = ckpts[0]["config"]
    for p, c in zip(paths, ckpts):
        other = c["config"]
        if (other["task"], other["targets"]["columns"], other["data"]["views"]) != (
                cfg["task"], cfg["targets"]["columns"], cfg["data"]["views"]):
            raise UserError(f"{p} belongs to another task than {paths[0]}; keep one task per weights folder")
    log.info("weights: %d folds from %s (%s)", len(paths), weights_dir, ", ".join(p.parent.name for p in paths))
    return ckpts, cfg


def thresholds_for(weights_dir, ckpts, locs):
    th = location_thresholds(weights_dir)
    if th is not None:
        log.info("location thresholds: from the out-of-fold CV summary (%s)", weights_dir / "cv_summary.json")
        return th
    log.warning("no cv_summary.json (not every fold finished): location thresholds are the mean of the "
                "trained folds' validation thresholds")
    return {c: float(np.mean([k["thresholds"][c] for k in ckpts])) for c in locs}


def output_frame(samples, cfg, probs, thresholds, location_probs):
    """id column + targets in config order, rows exactly as the CSV (or the sorted file ids) gave them."""
    id_col, cols, prim = cfg["data"]["id_column"], C.target_columns(cfg), C.primary(cfg)
    extra = [c for c in samples.frame.columns if c not in [id_col] + cols]
    if extra:
        log.warning("test CSV columns not written to the output (the organizers' scorer counts extras as errors):"
                    " %s", ", ".join(map(str, extra)))
    out = pd.DataFrame({id_col: samples.frame[id_col].tolist()})
    for j, c in enumerate(cols):
        if (c == prim or location_probs or T.kind(cfg) != "binary"
                or cfg["targets"].get("location_output") == "probability"):
            out[c] = np.round(probs[:, j].astype(float), 6)
        else:
            out[c] = (probs[:, j] >= thresholds[c]).astype(int)
    return out


def output_problems(out, ids, cfg):
    """What is wrong with an output table against the task and test.csv's ids (empty list: nothing)."""
    cols = [cfg["data"]["id_column"]] + C.target_columns(cfg)
    problems = []
    if list(out.columns) != cols:
        problems.append(f"columns {list(out.columns)[:4]}... differ from the task's {cols[:4]}...")
    if len(out) != len(ids):
        problems.append(f"rows differ from test.csv: {len(out)} rows, test.csv {len(ids)}")
    elif cols[0] in out.columns and out[cols[0]].astype(str).tolist() != list(ids):
        problems.append("rows differ from test.csv's order")
    values = out[[c for c in cols[1:] if c in out.columns]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
        problems.append("values outside [0, 1]")
    return problems


def self_check(path, ids, cfg):
    """Re-read the written file and confirm rows, order, columns and value ranges; one line."""
    back = pd.read_csv(path, dtype={cfg["data"]["id_column"]: str})
    cols = [cfg["data"]["id_column"]] + C.target_columns(cfg)
    problems = output_problems(back, ids, cfg)
    if problems:
        raise UserError(f"self-check of {path} failed: {'; '.join(problems)}")
    log.info("self-check: %s | %d rows in test.csv order | %d columns (%s ... %s) | values in [0, 1] | OK",
             path, len(back), len(cols), cols[0], cols[-1])


def load_models(ckpts, device):
    models = []
    for c in ckpts:
        m = build_model(c["model_args"])
        m.load_state_dict(c["model"])
        models.append(to_device(m, device).eval())
    return models


def unpad(prob_square, h, w):
    """Undo pad_square + resize: a (S, S) map back onto the original (h, w) image."""
    size = max(h, w)
    full = cv2.resize(prob_square, (size, size), interpolation=cv2.INTER_LINEAR)
    top, left = (size - h) // 2, (size - w) // 2
    return full[top:top + h, left:left + w]


def write_masks(models, samples, indices, cfg, device, workers, batch_size, folder):
    """Predict lung masks for samples[indices] and write them as {id}.png (0/255) at each image's own size."""
    folder.mkdir(parents=True, exist_ok=True)
    ds = MultiViewDataset(samples, np.asarray(indices), cfg, train=False)
    probs, _, _ = predict_masks(models, make_loader(ds, batch_size, False, workers, device), device)
    written = []
    for i, prob in zip(indices, probs):
        path = samples.paths[i][0]
        size = header_size(path) if path is not None else None
        h, w = (size[1], size[0]) if size else prob.shape
        mask = np.where(unpad(prob, h, w) > 0.5, 255, 0).astype(np.uint8)
        target = folder / f"{samples.ids[i]}.png"
        atomic_write_bytes(target, cv2.imencode(".png", mask)[1].tobytes())
        written.append(target)
    return written


def predict_missing_masks(samples, cfg, args, device, workers, tmp):
    """Masks for the samples that have none, from the lung segmenter's folds; returns how many were made."""
    missing = [i for i, m in enumerate(samples.mask_paths) if m is None]
    source = args.mask_weights or cfg["data"].get("mask_weights")
    if not missing or not source:
        return 0
    seg_dir = C.project_path(args.mask_weights, C.PROJECT_ROOT / str(source))
    if not any(seg_dir.glob("fold_*/best.pt")):
        log.warning("%d samples have no mask and there are no segmentation weights in %s: the whole image is "
                    "used for them (train configs/cxr_lungseg.yaml into that folder, or pass --mask_weights)",
                    len(missing), seg_dir)
        return 0
    seg_ckpts, seg_cfg = load_folds(seg_dir)
    if T.kind(seg_cfg) != "segmentation":
        raise UserError(f"{seg_dir} does not hold segmentation weights")
    log.info("predicting lung masks for %d samples with %s", len(missing), seg_dir)
    written = write_masks(load_models(seg_ckpts, device), samples, missing, seg_cfg, device, workers,
                          args.batch_size, Path(tmp))
    for i, path in zip(missing, written):
        samples.mask_paths[i] = path
    return len(written)


def main(argv=None):
    args = parser().parse_args(argv)
    setup_logging()
    weights_dir = C.project_path(args.weights_dir, C.DEFAULT_WEIGHTS)
    ckpts, cfg = load_folds(weights_dir)
    # file-level checks only: the loader decodes each image once anyway and warns about any it cannot read
    samples = load_checked(args.data_dir, cfg, "test", decode=False)
    device = pick_device(args.device)
    models = load_models(ckpts, device)
    workers = default_workers(args.num_workers)
    if T.kind(cfg) == "segmentation":
        folder = Path(args.out if args.out != "output.csv" else "pred_masks").expanduser()
        if folder.exists() and any(folder.iterdir()):
            raise UserError(f"{folder} already holds files; choose another --out folder (nothing is overwritten)")
        written = write_masks(models, samples, range(len(samples.ids)), cfg, device, workers, args.batch_size,
                              folder)
        log.info("wrote %d masks to %s ({id}.png, 0/255, each at its image's size)", len(written), folder)
        return 0
    with tempfile.TemporaryDirectory(prefix="masks_") as tmp:
        if samples.mask_paths is not None:
            predict_missing_masks(samples, cfg, args, device, workers, tmp)
        probs = predict_table(models, samples, cfg, device, workers, args)
    thresholds = thresholds_for(weights_dir, ckpts, C.location_columns(cfg)) if T.kind(cfg) == "binary" else {}
    out = output_frame(samples, cfg, probs, thresholds, args.location_probs)
    out_path = Path(args.out).expanduser()
    if keep_previous(out_path):
        log.info("%s existed: the previous file is kept as %s.bak", out_path, out_path.name)
    atomic_write_csv(out, out_path)
    self_check(out_path, samples.frame[cfg["data"]["id_column"]].tolist(), cfg)
    return 0


def predict_table(models, samples, cfg, device, workers, args):
    mirror = C.mirror_permutations(cfg) if args.tta else None
    if args.tta and mirror is None:
        log.warning("--tta: this task has no mirror map in its config; predicting without it")
    ds = MultiViewDataset(samples, np.arange(len(samples.ids)), cfg, train=False)
    loader = make_loader(ds, args.batch_size, False, workers, device)
    probs, _, _ = predict(models, loader, device, mirror, desc="predicting",          # unshuffled: CSV order
                          activation=lambda z: T.probabilities(cfg, z))
    return probs
