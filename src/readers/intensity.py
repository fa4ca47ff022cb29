"""How stored pixel values become the uint8 intensities every view is made of: the robust window of deep images
(16-bit PNG/TIFF, DICOM without a window of its own).

A deep image is not min/max-stretched: one saturated pixel (a marker, a dead detector element) would push all
the anatomy into a few gray levels. The window runs from a low to a high percentile of the values instead, so
a few extreme pixels are clipped and the rest keep their contrast.
"""
import numpy as np

ROBUST_PERCENTILES = (0.5, 99.5)     # the robust window: from this low to this high percentile of the values
SAMPLE_PIXELS = 1 << 20              # the percentiles of a larger image are taken on a regular subsample


def to_uint8(values, lo, hi):
    """Values (any shape, any dtype) linearly mapped from [lo, hi] to 0..255 (clipped, rounded) as uint8."""
    scale = 255.0 / max(float(hi) - float(lo), 1e-6)
    out = (np.asarray(values, np.float32) - np.float32(lo)) * np.float32(scale)
    return np.rint(np.clip(out, 0, 255)).astype(np.uint8)


def robust_range(values, percentiles=ROBUST_PERCENTILES):
    """(lo, hi): the low and high percentile of the values (all channels together; NaN ignored); when they
    coincide (a nearly flat image) the full min..max range instead."""
    flat = np.asarray(values).reshape(-1)
    step = max(1, flat.size // SAMPLE_PIXELS)
    sample = flat[::step].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(sample, percentiles)
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    return float(lo), float(hi)


def robust_window(values, percentiles=ROBUST_PERCENTILES):
    """A deep (or float) image as uint8 through the robust window (module docstring); same shape."""
    lo, hi = robust_range(values, percentiles)
    return to_uint8(values, lo, hi)
