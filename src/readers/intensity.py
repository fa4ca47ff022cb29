"""How stored pixel values become the uint8 intensities every view is made of: the robust window of deep images
(16-bit PNG/TIFF, DICOM without a window of its own).

A deep image is not min/max-stretched: one saturated pixel (a marker, a dead detector element) would push all
the anatomy into a few gray levels. Non-negative integer data (a 16-bit PNG, a DICOM stored without a window) is
scaled by the bits it uses, as its 8-bit export would be (``depth_window``: the picture keeps its contrast, a few
hot pixels are clipped); other data (rescaled or float values) goes through the robust window, from a low to a
high percentile of the values (``robust_window``).
"""
import numpy as np

ROBUST_PERCENTILES = (0.5, 99.5)     # the robust window: from this low to this high percentile of the values
SAMPLE_PIXELS = 1 << 20              # the percentiles of a larger image are taken on a regular subsample


def to_uint8(values, lo, hi):
    """Values (any shape, any dtype) linearly mapped from [lo, hi] to 0..255 (clipped, rounded) as uint8."""
    scale = 255.0 / max(float(hi) - float(lo), 1e-6)
    out = (np.asarray(values, np.float32) - np.float32(lo)) * np.float32(scale)
    return np.rint(np.clip(out, 0, 255)).astype(np.uint8)


def pixel_sample(values):
    """A regular subsample of an image's pixels, every channel of each (at most SAMPLE_PIXELS pixels), finite
    values only, as float64: a colour image's channels are all in it, whatever its size."""
    values = np.asarray(values)
    pixels = values.reshape(-1, values.shape[-1]) if values.ndim == 3 else values.reshape(-1, 1)
    step = max(1, len(pixels) // SAMPLE_PIXELS)
    sample = pixels[::step].astype(np.float64).ravel()
    return sample[np.isfinite(sample)]


def robust_range(values, percentiles=ROBUST_PERCENTILES):
    """(lo, hi): the low and high percentile of the values (all channels together; NaN ignored); when they
    coincide (a nearly flat image) the full min..max range instead."""
    sample = pixel_sample(values)
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


def used_bits(values, max_bits=16):
    """The bits non-negative integer values use, from 8 to ``max_bits``: enough for their high percentile
    (ROBUST_PERCENTILES), so that a few saturated pixels do not count."""
    sample = pixel_sample(values)
    top = float(np.percentile(sample, ROBUST_PERCENTILES[1])) if sample.size else 0.0
    return int(min(max(8, int(np.ceil(np.log2(top + 1)))), max_bits))


def depth_window(values, max_bits=16):
    """Non-negative integer values (a 16-bit PNG or TIFF, a DICOM without a window) as uint8 the way an 8-bit
    export of them shows them: scaled from [0, 2^b - 1], b the bits they use (``used_bits``). A 12-bit picture
    stored x 16 decodes as its 8-bit twin (within rounding), one saturated pixel or not; its contrast is kept,
    not stretched to fill 0..255."""
    return to_uint8(values, 0, 2 ** used_bits(values, max_bits) - 1)
