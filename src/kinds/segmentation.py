"""Segmentation (lung masks): a U-Net with a timm encoder learns each sample's mask; Dice + BCE, Dice/IoU
validation; test.py writes one mask per image ({id}.png, 0/255, at the image's own size)."""
import logging

import cv2
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..dataset import MultiViewDataset, make_loader
from ..distributed import gather
from ..errors import UserError
from ..forward import logits_of
from ..images import header_size, restore
from ..io_utils import atomic_write_bytes
from .base import Kind, Validation

log = logging.getLogger("harness")


def dice_bce_loss(logits, target, eps=1.0):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum((-2, -1))
    dice = (2 * inter + eps) / (p.sum((-2, -1)) + target.sum((-2, -1)) + eps)
    return bce + (1 - dice).mean()


def dice_iou(pred, target):
    """Per-image Dice and IoU of boolean masks (1 for both when both are empty)."""
    pred, target = pred.reshape(len(pred), -1), target.reshape(len(target), -1)
    inter = (pred & target).sum(1).astype(float)
    total = pred.sum(1) + target.sum(1)
    union = (pred | target).sum(1)
    dice = np.where(total > 0, 2 * inter / np.maximum(total, 1), 1.0)
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return dice, iou


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
    mask_is_target = True
    produces_masks = True

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
        dice, iou = dice_iou(probs > 0.5, target)
        oof = pd.DataFrame({"id": [samples.ids[i] for i in va], "fold": fold, "dice": dice, "iou": iou})
        scores = dict(val_dice=float(dice.mean()), val_iou=float(iou.mean()))
        return Validation([scores["val_dice"], -val_loss], dict(val_loss=val_loss, **scores), oof,
                          dict(val_scores=dict(val_loss=val_loss, **scores)),
                          f"val_loss {val_loss:.4f}  Dice {scores['val_dice']:.4f}  IoU {scores['val_iou']:.4f}")

    def summarize(self, oof):
        n_folds = oof["fold"].nunique()
        per_fold = oof.groupby("fold")[["dice", "iou"]].mean()
        summary = dict(n_folds=n_folds, oof_dice=float(oof["dice"].mean()), oof_iou=float(oof["iou"].mean()),
                       per_fold_dice=per_fold["dice"].tolist(), per_fold_iou=per_fold["iou"].tolist())
        text = (f"cross-validation summary ({n_folds} folds, out-of-fold masks): Dice {summary['oof_dice']:.4f}  "
                f"IoU {summary['oof_iou']:.4f}  per-fold Dice {' '.join(f'{d:.4f}' for d in per_fold['dice'])}")
        return summary, text

    def leaderboard(self, summary):
        return dict(oof_dice=summary["oof_dice"], oof_iou=summary["oof_iou"])

    def write_masks(self, models, samples, indices, device, workers, batch_size, folder):
        """Predict masks for samples[indices] and write them as {id}.png (0/255) at each image's own size."""
        folder.mkdir(parents=True, exist_ok=True)
        indices = np.asarray(indices)
        ds = MultiViewDataset(samples, indices, self.cfg, train=False, mask_is_target=True, with_box=True)
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
