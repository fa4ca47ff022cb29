"""Mask files: the one rule that turns a stored mask into foreground and background.

A mask file may hold 0/255 (the usual), 0/1, labels (0/1/2: one value per lung or lesion), 16-bit values or
colour (IDRiD's red masks: any channel marks). A pixel is foreground when its value (the largest of its
channels) is above ``data.mask_threshold``: 0 by default (any non-zero value), 127 for 0/255 masks smoothed
at their edges or stored as JPEG. ``read`` makes a mask binary 0/255 once, where its file is decoded; all
that comes after (cropping, resizing, augmenting, scoring) sees 0/255 maps, and a resampled map's pixel is
foreground when more than half of it was (``covered``)."""
import cv2
import numpy as np

from ..utilities.errors import UserError

ON = 255                  # foreground in a binarised mask
HALF = 127                # a resampled 0/255 map: above this, more than half of the pixel was foreground


def threshold_of(cfg):
    """``data.mask_threshold`` of a task config as an int >= 0; a UserError otherwise."""
    value = cfg["data"]["mask_threshold"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise UserError(f"data.mask_threshold must be a whole number >= 0 (a mask pixel above it is foreground; "
                        f"0: any non-zero value), not {value!r}")
    return int(value)


def decode_values(path):
    """A mask file's stored values (H, W), any dtype, colour reduced to its largest channel; None when the
    file cannot be read or decoded."""
    try:
        values = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except (OSError, ValueError):
        return None
    if values is None or values.size == 0:
        return None
    return values[:, :, :3].max(axis=2) if values.ndim == 3 else values


def binarize(values, threshold=0):
    """Stored mask values (H, W) -> uint8 (H, W): ON (255) where a value is above ``threshold``, else 0."""
    return np.where(values > threshold, ON, 0).astype(np.uint8)


def read(path, threshold=0):
    """A mask file as uint8 0/255 (H, W) by the rule above, or None when it cannot be decoded."""
    values = decode_values(path)
    return None if values is None else binarize(values, threshold)


def covered(prepared):
    """Boolean foreground of a binarised mask that may have been resampled since (cropped, resized)."""
    return np.asarray(prepared) > HALF
