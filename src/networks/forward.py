"""Probabilities from one or more models over a loader: fold averaging and mirror test-time augmentation; and
each fold's own input normalisation, applied on the device (``Normalized``)."""
import numpy as np
import torch
from torch import nn
from tqdm import tqdm


class Normalized(nn.Module):
    """A trained fold fed images in [0, 1], its own normalisation first: (x - mean) / std on the image channels
    (dim -3; a mask channel after them passes as it is), on the device of the input. Folds trained with different
    normalisations (ImageNet weights or from scratch) are each fed as they were trained."""

    def __init__(self, net, mean, std, channels):
        super().__init__()
        self.net, self.channels = net, int(channels)
        for name, value in (("mean", mean), ("std", std)):
            values = torch.tensor(value, dtype=torch.float32).reshape(-1, 1, 1)
            self.register_buffer(name, values.expand(self.channels, 1, 1).clone(), persistent=False)

    def forward(self, x):
        c = self.channels
        img = (x[..., :c, :, :] - self.mean) / self.std
        return self.net(torch.cat([img, x[..., c:, :, :]], dim=-3) if x.shape[-3] > c else img)


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
