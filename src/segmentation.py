"""Segmentation task: a U-Net with a timm encoder, Dice + BCE, Dice/IoU validation, mask prediction."""
import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from .distributed import gather
from .predict import logits_of


def conv_block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """timm encoder (features_only) + a U-Net decoder; (B, 1, H, W) image -> (B, 1, H, W) mask logits."""

    def __init__(self, backbone, decoder_width=32, pretrained=False, pretrained_path=None, **_):
        super().__init__()
        from .model import create_backbone
        self.encoder = create_backbone(backbone, pretrained, pretrained_path, features_only=True, in_chans=1)
        chs = self.encoder.feature_info.channels()
        self.blocks = nn.ModuleList()
        width = chs[-1]
        for skip in reversed(chs[:-1]):
            out = max(decoder_width, skip)
            self.blocks.append(conv_block(width + skip, out))
            width = out
        self.final = nn.Sequential(conv_block(width, decoder_width), nn.Conv2d(decoder_width, 1, 1))

    def forward(self, x):
        size = x.shape[-2:]
        feats = self.encoder(x)
        y = feats[-1]
        for block, skip in zip(self.blocks, reversed(feats[:-1])):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], 1))
        return self.final(F.interpolate(y, size=size, mode="bilinear", align_corners=False)).float()


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


@torch.no_grad()
def predict_masks(models, loader, device):
    """Mean mask probability over models: ((n, H, W) float32, targets or None, dataset indices), loader order."""
    for m in models:
        m.eval()
    probs, targets, order = [], [], []
    for x, y, idx in loader:
        p = sum(torch.sigmoid(logits_of(m, x, device)) for m in models) / len(models)
        probs.append(p[:, 0].cpu().numpy())
        order.append(idx.numpy())
        if y.numel():
            targets.append(y[:, 0].numpy() > 0.5)
    return np.concatenate(probs), (np.concatenate(targets) if targets else None), np.concatenate(order)


def validate(cfg, model, loader, device, samples, va, fold):
    from .validation import Validation

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
