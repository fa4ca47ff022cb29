"""Segmentation (lung masks): a U-Net with a timm encoder learns each sample's mask; Dice + BCE, Dice/IoU
validation; test.py writes one mask per image ({id}.png, 0/255, at the image's own size); evaluate.py scores
such a folder against a folder of true masks. An empty true mask has no Dice (metrics/pixels.mask_scores)."""
import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..loading.dataset import MultiViewDataset
from ..loading.loader import make_loader
from ..metrics import pixels as PM
from ..networks.forward import logits_of
from ..preprocessing.geometry import restore
from ..readers.formats import image_extensions
from ..readers.images import header_size
from ..readers.masks import HALF, read, threshold_of
from ..utilities.distributed import gather
from ..utilities.errors import UserError
from ..utilities.files import atomic_write_bytes
from .base import Kind, Validation

log = logging.getLogger("harness")


def dice_bce_loss(logits, target, eps=1.0):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum((-2, -1))
    dice = (2 * inter + eps) / (p.sum((-2, -1)) + target.sum((-2, -1)) + eps)
    return bce + (1 - dice).mean()


def dice_iou(pred, target):
    """Per-image Dice and IoU of boolean masks (n, H, W): (n,) each, NaN where the true mask is empty."""
    scores = PM.mask_scores(PM.overlap_counts(pred, target))
    return scores["dice"], scores["iou"]


def empty_note(scores):
    """'' or a note on the images with an empty true mask (left out of the Dice)."""
    if not scores["empty_truth"]:
        return ""
    return (f"  ({scores['empty_truth']} of {scores['n']} true masks empty, left out of the Dice; "
            f"{scores['false_positive_images']} of them got a predicted mask)")


def evaluate_masks(pred, gt, cfg):
    """Dice and IoU of the masks of folder ``pred`` ({id}.png) against the true masks of folder ``gt`` (matched
    by file name, any extension of the task), printed; a dict. Truth: masks.py's rule (data.mask_threshold);
    prediction: above 127. A UserError when every true mask is empty (nothing to score)."""
    for path, what in ((pred, "prediction"), (gt, "ground truth")):
        if not path.is_dir():
            raise UserError(f"{what} {path} is not a folder: a segmentation task is scored from folders of "
                            "{id}.png masks (test.py writes them; --gt: the true masks)")
    exts = {e.lower() for e in image_extensions(cfg)} | {".png"}
    truths = {p.stem.lower(): p for p in sorted(gt.iterdir()) if p.suffix.lower() in exts}
    preds = {p.stem.lower(): p for p in pred.iterdir() if p.suffix.lower() in exts}
    if not truths:
        raise UserError(f"ground truth {gt} holds no mask files ({' '.join(sorted(exts))})")
    missing = [truths[s].name for s in truths if s not in preds]
    if missing:
        raise UserError(f"{len(missing)} true masks have no predicted mask in {pred}, e.g. {missing[0]}")
    threshold = threshold_of(cfg)
    counts = np.zeros((len(truths), 3), np.int64)
    for i, (stem, path) in enumerate(truths.items()):
        truth, mask = read(path, threshold), read(preds[stem], HALF)
        if truth is None or mask is None or truth.shape != mask.shape:
            raise UserError(f"{preds[stem]} and its truth {path} are not two readable masks of one size")
        counts[i] = PM.overlap_counts(mask[None] > 0, truth[None] > 0)[0]
    s = PM.mask_scores(counts)
    if s["empty_truth"] == s["n"]:
        raise UserError(f"every true mask in {gt} is empty ({s['n']} files; no value above data.mask_threshold "
                        f"{threshold}): there is no Dice to compute (python -m src.check_data lists the values)")
    print(f"Dice {s['mean_dice']:.4f}  IoU {s['mean_iou']:.4f}  (mean over the {s['n'] - s['empty_truth']} images "
          f"with a true mask){empty_note(s)}")
    print(f"pooled over all pixels: Dice {s['pooled_dice']:.4f}  IoU {s['pooled_iou']:.4f}")
    return {k: v for k, v in s.items() if k not in ("dice", "iou")}


def split_output(out):
    """(mask logits, grade logits or None) of a U-Net's output."""
    return out if isinstance(out, tuple) else (out, None)


@torch.no_grad()
def predicted_batches(models, loader, device, tta=False):
    """Per batch: (mean mask probabilities (B, M, S, S), mean grade probabilities (B, G) or None, the batch's
    target (masks, or (masks, labels)), dataset indices); with ``tta`` the mirrored image is averaged in."""
    for m in models:
        m.eval()
    for x, y, idx in loader:
        x = x.to(device, non_blocking=True)
        masks, grades, count = 0.0, None, 0
        for m in models:
            for flip in (False, True) if tta else (False,):
                seg, grade = split_output(logits_of(m, x.flip(-1) if flip else x, device))
                seg = torch.sigmoid(seg)
                masks = masks + (seg.flip(-1) if flip else seg)
                if grade is not None:
                    grades = torch.softmax(grade, 1) + (0.0 if grades is None else grades)
                count += 1
        yield masks / count, (None if grades is None else grades / count), y, idx


def predict_masks(models, loader, device):
    """Mean probability of the first mask over models: ((n, H, W) float32, targets or None, dataset indices),
    loader order."""
    probs, targets, order = [], [], []
    for masks, _, y, idx in predicted_batches(models, loader, device):
        probs.append(masks[:, 0].cpu().numpy())
        order.append(idx.numpy())
        y = y[0] if isinstance(y, (tuple, list)) else y
        if y.numel():
            targets.append(y[:, 0].numpy() > 0.5)
    return np.concatenate(probs), (np.concatenate(targets) if targets else None), np.concatenate(order)


def image_size(path, fallback):
    """(height, width) of an image file from its header, to put a predicted map back onto it; ``fallback``
    when the file is missing or unreadable."""
    size = header_size(path) if path is not None else None
    return (size[1], size[0]) if size else tuple(fallback)


class Segmentation(Kind):
    name = "segmentation"
    default_out = "pred_masks"
    default_truth = "groundtruth"       # a folder of true masks, {id}.png
    mask_is_target = True
    produces_masks = True
    output_is_folder = True

    def check(self, where):
        if len(self.cols) != 1:
            raise UserError(f"{where}: a segmentation task learns one mask (targets.columns: one name); "
                            "several lesion types: targets.kind lesions")

    def model_args(self):
        m = self.cfg["model"]
        return dict(arch="unet", backbone=m["backbone"], decoder_width=int(m["decoder_width"]),
                    in_chans=int(self.cfg["data"]["channels"]), n_outputs=len(self.cols))

    def loss(self, logits, y):
        return dice_bce_loss(logits, y)

    def validate(self, model, loader, device, samples, va, fold):
        probs, target, order = predict_masks([model], loader, device)
        probs, target = gather(order, probs, target)
        logits = torch.logit(torch.from_numpy(probs).clamp(1e-6, 1 - 1e-6))[:, None]
        val_loss = float(dice_bce_loss(logits, torch.from_numpy(target[:, None].astype(np.float32))))
        s = PM.mask_scores(PM.overlap_counts(probs > 0.5, target))
        oof = pd.DataFrame({"id": [samples.ids[i] for i in va], "fold": fold, "dice": s["dice"], "iou": s["iou"]})
        scores = dict(val_dice=s["mean_dice"], val_iou=s["mean_iou"])
        warned = self.__dict__.setdefault("empty_folds", set())
        if s["empty_truth"] == s["n"] and fold not in warned:
            warned.add(fold)
            log.warning("fold %s: every validation mask is empty: no Dice (NaN), the best epoch is chosen by the "
                        "validation loss; check the masks' values and data.mask_threshold", fold)
        headline = scores["val_dice"] if scores["val_dice"] == scores["val_dice"] else -np.inf
        return Validation([headline, -val_loss], dict(val_loss=val_loss, **scores), oof,
                          dict(val_scores=dict(val_loss=val_loss, **scores)),
                          f"val_loss {val_loss:.4f}  Dice {scores['val_dice']:.4f}  IoU {scores['val_iou']:.4f}"
                          + empty_note(s))

    def summarize(self, oof):
        n_folds = oof["fold"].nunique()
        per_fold = oof.groupby("fold")[["dice", "iou"]].mean()
        empty = int(oof["dice"].isna().sum())            # images with an empty true mask: no Dice of their own
        summary = dict(n_folds=n_folds, oof_dice=float(oof["dice"].mean()), oof_iou=float(oof["iou"].mean()),
                       per_fold_dice=per_fold["dice"].tolist(), per_fold_iou=per_fold["iou"].tolist(),
                       empty_truth=empty)
        text = (f"cross-validation summary ({n_folds} folds, out-of-fold masks): Dice {summary['oof_dice']:.4f}  "
                f"IoU {summary['oof_iou']:.4f}  per-fold Dice {' '.join(f'{d:.4f}' for d in per_fold['dice'])}"
                + (f"  ({empty} empty true masks left out)" if empty else ""))
        if len(oof) and empty == len(oof):
            log.warning("every out-of-fold true mask is empty: the Dice is undefined (NaN), not a score")
        return summary, text

    def leaderboard(self, summary):
        return dict(oof_dice=summary["oof_dice"], oof_iou=summary["oof_iou"])

    def evaluate(self, pred, gt, n_boot, plots):
        if plots:
            log.warning("--plots: no pictures for a segmentation task's masks; scores only")
        return evaluate_masks(Path(pred), Path(gt), self.cfg)

    def write_masks(self, models, samples, indices, device, workers, batch_size, folder):
        """Predict masks for samples[indices] and write them as {id}.png (0/255) at each image's own size."""
        folder.mkdir(parents=True, exist_ok=True)
        indices = np.asarray(indices)
        ds = MultiViewDataset(samples, indices, self.cfg, train=False, mask_is_target=True, with_box=True,
                              normalize=False)      # models from inference.ensemble.load_models
        written = []
        for probs, _, boxes, idx in predicted_batches(models, make_loader(ds, batch_size, False, workers, device),
                                                      device):
            for prob, box, k in zip(probs[:, 0].cpu().numpy(), boxes.tolist(), idx.tolist()):
                i = indices[k]
                h, w = image_size(samples.paths[i][0], prob.shape)
                mask = np.where(restore(prob, box, h, w) > 0.5, 255, 0).astype(np.uint8)
                target = folder / f"{samples.ids[i]}.png"
                atomic_write_bytes(target, cv2.imencode(".png", mask)[1].tobytes())
                written.append(target)
        return written

    def write_predictions(self, run, out):
        if out is None:
            raise UserError("a segmentation task writes masks: give a folder to write them to")
        if out.exists() and any(out.iterdir()):
            raise UserError(f"{out} already holds files; choose another --out folder (nothing is overwritten)")
        written = self.write_masks(run.models, run.samples, range(len(run.samples.ids)), run.device, run.workers,
                                   run.batch_size, out)
        log.info("wrote %d masks to %s ({id}.png, 0/255, each at its image's size)", len(written), out)
        return pd.DataFrame({"id": run.samples.ids, "mask": [str(p) for p in written]})
