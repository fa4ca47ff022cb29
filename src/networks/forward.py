"""Probabilities from one or more models over a loader: fold averaging and mirror test-time augmentation."""
import numpy as np
import torch
from tqdm import tqdm


def logits_of(model, x, device):
    """Forward pass in bf16 autocast on CUDA, float32 on the CPU; a network with two outputs gives a pair."""
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        out = model(x.to(device, non_blocking=True))
    return out.float() if torch.is_tensor(out) else tuple(o.float() for o in out)


@torch.no_grad()
def predict_loader(models, loader, device, mirror=None, desc=None, activation=torch.sigmoid):
    """Mean probability (``activation`` of the logits) over ``models`` (and the mirrored input, ``mirror``).

    mirror = (view permutation, target permutation): the input's views are swapped and flipped
    horizontally, and the predicted targets swapped back, so left stays left.
    Returns (probs (n, T), labels (n, T) or None, dataset indices (n,)).
    """
    for m in models:
        m.eval()
    probs, labels, order = [], [], []
    for x, y, idx in tqdm(loader, desc=desc, leave=False, dynamic_ncols=True, disable=None if desc else True):
        x = x.to(device, non_blocking=True)             # once per batch, whatever the number of models
        total, count = 0.0, 0
        for m in models:
            total = total + activation(logits_of(m, x, device))
            count += 1
            if mirror is not None:
                vperm, tperm = mirror
                flipped = activation(logits_of(m, x[:, vperm].flip(-1), device))
                total = total + flipped[:, tperm]
                count += 1
        probs.append((total / count).cpu().numpy())
        if y.numel():
            labels.append(y.numpy())
        order.append(idx.numpy())
    probs = np.concatenate(probs) if probs else np.zeros((0, 0), np.float32)
    labels = np.concatenate(labels) if labels else None
    return probs, labels, np.concatenate(order) if order else np.zeros(0, int)
