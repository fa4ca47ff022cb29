"""How a region mask (the lungs) enters an image+mask classifier (``model.mask_mode``):

- none: the whole image, the mask unused;
- masked: black outside the mask;
- channel: the mask as one more input channel;
- pool: the backbone sees the whole image, its features are pooled under the mask;
- crop: the image is cut to the mask's bounding box (plus a margin) before it is brought to the input size,
  then black outside the mask dilated by the margin: nothing outside the lungs, more pixels of them. Measured
  below masked in every setting tried (docs/RECIPE.md, "Masking under a shortcut"); kept for other data;
- swap: as pool, and in training everything outside the lungs (both films' masks, dilated by the margin) comes
  from another training film: tags, lines and devices there no longer follow the grade, so the network learns
  the lungs without losing the whole film at test time.
"""
import dataclasses

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..utilities.errors import UserError

MODES = ("none", "masked", "channel", "pool", "crop", "swap")
CROP_LOAD = 2            # crop mode loads views at this multiple of the input size, then cuts the mask's box


def check(mode):
    if mode not in MODES:
        raise UserError(f"unknown model.mask_mode '{mode}' ({' | '.join(MODES)})")
    return mode


def pools_under_mask(mode):
    """Whether the backbone's features are pooled under the mask (the mask travels as the last channel)."""
    return mode in ("pool", "swap")


def load_prep(prep, mode):
    """The preprocessing the dataset loads (and caches) views at: larger in crop mode, so that the cut-out
    lungs keep their detail."""
    return dataclasses.replace(prep, size=prep.size * CROP_LOAD) if mode == "crop" else prep


def crop_to_mask(view, mask, size, margin):
    """(view, mask) cut to the square around the mask's bounding box widened by ``margin`` (a fraction of the
    side) and resized to ``size``; the whole picture when the mask is empty or covers everything."""
    m = mask[..., 0] > 127
    side_in = m.shape[0]
    if m.any() and not m.all():
        ys, xs = np.nonzero(m)
        side = int(round(max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 + 2 * margin * side_in))
        top = int(round((ys.min() + ys.max()) / 2 - side / 2))
        left = int(round((xs.min() + xs.max()) / 2 - side / 2))
        view, mask = (cut(a, top, left, side) for a in (view, mask))
    shape = mask.shape
    view = cv2.resize(view, (size, size), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST).reshape(size, size, shape[-1])
    return view, mask


def cut(a, top, left, side):
    """a[top:top+side, left:left+side] with zeros where that square leaves the picture."""
    out = np.zeros((side, side) + a.shape[2:], a.dtype)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + side, a.shape[0]), min(left + side, a.shape[1])
    if y1 > y0 and x1 > x0:
        out[y0 - top:y1 - top, x0 - left:x1 - left] = a[y0:y1, x0:x1]
    return out


def swap_background(view, mask, other, other_mask, margin):
    """``view`` with everything outside both lung masks (dilated by ``margin``, a fraction of the side) taken
    from ``other``: the film's own lungs are kept whole and none of the other film's lungs comes in."""
    r = max(1, int(round(margin * mask.shape[0])))
    lungs = ((mask[..., 0] > 127) | (other_mask[..., 0] > 127)).astype(np.uint8)
    keep = cv2.dilate(lungs, np.ones((2 * r + 1,) * 2, np.uint8)) > 0
    return np.where(keep.reshape(keep.shape + (1,) * (view.ndim - 2)), view, other)


def apply(x, m, mode, black, margin):
    """The network input of normalised views ``x`` (1, C, S, S) and their mask ``m`` (1, 1, S, S) in 0/1."""
    if mode == "masked":
        return x * m + (1 - m) * black
    if mode == "crop":
        r = max(1, int(round(margin * x.shape[-1])))
        keep = F.max_pool2d(m, 2 * r + 1, stride=1, padding=r)               # the mask dilated by the margin
        return x * keep + (1 - keep) * black
    if mode == "channel" or pools_under_mask(mode):
        return torch.cat([x, m], dim=1)
    return x
