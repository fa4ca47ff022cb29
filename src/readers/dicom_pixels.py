"""A DICOM dataset's pixel data as the values a viewer shows, and those values as uint8 (dicom.py calls this).

Decoders: pydicom decodes uncompressed, RLE and deflated data itself and finds the pylibjpeg plugins for the
compressed syntaxes (JPEG baseline / extended / lossless and JPEG-LS: pylibjpeg-libjpeg; JPEG 2000:
pylibjpeg-openjpeg; baseline 8-bit JPEG goes to Pillow first, ~3x faster). When every one of them fails on a JPEG
family file, imagecodecs (BSD) decodes its frames: it reads 12-bit lossy JPEG (Process 4, common in older
angiography archives: pydicom's JPEG-lossy.dcm) that libjpeg and GDCM refuse.

Intensities: monochrome values go through the Modality LUT, then the header's VOI LUT or window (or a fixed one);
without a window, values the Modality LUT leaves as stored are scaled by the bits they use (an 8-bit file as
stored, a 12-bit one as its 8-bit export would show it: intensity.depth_window), rescaled ones (CT's HU) through
the robust percentile window. Colour of more than 8 bits is scaled by its bit depth, palette colour by its LUT's.
"""
import numpy as np
from pydicom.encaps import generate_frames
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, iter_pixels, pixel_array
from pydicom.uid import JPEG2000TransferSyntaxes, JPEGLSTransferSyntaxes, JPEGTransferSyntaxes

from .intensity import depth_window, robust_window, to_uint8

MONO = ("MONOCHROME1", "MONOCHROME2")
PROBE = np.array([-1e30, 1e30])             # through a VOI transform: its output range
FALLBACK = "imagecodecs"                    # the decoder tried after pydicom's plugins (JPEG family only)
MAX_VALUES = 1 << 31                        # more stored values than this: a broken header, not an image


def n_frames(ds):
    try:
        return max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def stored_values(ds):
    """Rows x columns x samples x frames of a dataset (a header asking for more than MAX_VALUES is refused)."""
    count = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel") or 1) * n_frames(ds)
    if count <= 0 or count > MAX_VALUES:
        raise ValueError(f"the header gives {ds.Rows} x {ds.Columns} pixels x {n_frames(ds)} frames")
    return count


def fallback_frames(ds):
    """The frames of a JPEG-family dataset decoded by imagecodecs, one array each."""
    import imagecodecs

    uid = ds.file_meta.TransferSyntaxUID
    decode = imagecodecs.jpeg2k_decode if uid in JPEG2000TransferSyntaxes else \
        imagecodecs.jpegls_decode if uid in JPEGLSTransferSyntaxes else imagecodecs.jpeg_decode
    for fragment in generate_frames(ds.PixelData, number_of_frames=n_frames(ds)):
        yield decode(fragment)


def can_fall_back(ds):
    uid = getattr(ds.file_meta, "TransferSyntaxUID", None)
    return uid in JPEGTransferSyntaxes or uid in JPEGLSTransferSyntaxes or uid in JPEG2000TransferSyntaxes


def frames(ds, plugin, index=None):
    """The decoded frame ``index`` (None: an iterator over all of them) with pydicom's ``plugin`` ('': any of
    them) or the FALLBACK."""
    if plugin == FALLBACK:
        decoded = fallback_frames(ds)
        if index is None:
            return decoded
        return next(f for i, f in enumerate(decoded) if i == index)
    if index is None:
        return iter_pixels(ds, decoding_plugin=plugin)
    return pixel_array(ds, index=index, decoding_plugin=plugin)


def frame_values(ds, reading, plugin=""):
    """The frame(s) of a dataset as one array of values (modality units for monochrome, RGB for colour);
    ``plugin``: the decoder to use (a pydicom plugin, '' for the first that succeeds, or FALLBACK)."""
    stored_values(ds)
    mono1 = ds.get("PhotometricInterpretation") == "MONOCHROME1"
    n = n_frames(ds)
    if reading.frames in ("first", "middle") or n == 1:
        return values_of(frames(ds, plugin, 0 if reading.frames == "first" else n // 2), ds)
    pick = {"min": np.fmax if mono1 else np.fmin, "max": np.fmin if mono1 else np.fmax}.get(reading.frames)
    total, dtype = None, None
    for frame in frames(ds, plugin):
        values = values_of(frame, ds)
        dtype, values = values.dtype, values.astype(np.float64)
        total = values if total is None else pick(total, values) if pick else total + values
    total = total if pick else total / n
    return np.rint(total).astype(dtype) if dtype.kind in "ui" else total     # stored integers stay integers


def values_of(frame, ds):
    """One decoded frame through the Modality LUT (monochrome) or the palette (PALETTE COLOR); a Modality LUT
    that changes nothing (slope 1, intercept 0) leaves the stored integers as they are."""
    photometric = ds.get("PhotometricInterpretation")
    if photometric in MONO:
        return frame if as_stored(ds) else apply_modality_lut(frame, ds)
    if photometric == "PALETTE COLOR":
        return apply_color_lut(frame, ds)
    return frame


def as_stored(ds):
    """True when the Modality LUT is the identity: no LUT sequence, slope 1 (or none), intercept 0 (or none)."""
    try:
        return "ModalityLUTSequence" not in ds and float(ds.get("RescaleSlope", 1) or 1) == 1 and \
            float(ds.get("RescaleIntercept", 0) or 0) == 0
    except (TypeError, ValueError):
        return False


def window(values, ds, reading):
    """Monochrome values -> uint8 through the header's VOI (or a fixed window); without one, values as stored by
    the bits they use, rescaled ones through the robust window."""
    if isinstance(reading.window, tuple):
        ds.WindowCenter, ds.WindowWidth = reading.window
        for key in ("VOILUTSequence", "VOILUTFunction"):
            if key in ds:
                del ds[key]
    has_voi = "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds)
    if reading.window == "robust" or not has_voi:
        if reading.window != "robust" and values.dtype.kind in "ui" and as_stored(ds) and values.min() >= 0:
            return depth_window(values, int(ds.get("BitsStored") or 8))
        return robust_window(values)
    count = len(ds.VOILUTSequence) if "VOILUTSequence" in ds else ds["WindowCenter"].VM
    index = min(reading.window_index, max(count, 1) - 1)
    try:
        probe = PROBE                                  # a window's output range: where it sends the extremes
        if "VOILUTSequence" in ds:                     # a LUT's: its outputs over all of its inputs
            n, first = ds.VOILUTSequence[index].LUTDescriptor[:2]
            probe = np.arange(first, first + (n or 65536))
            values = np.rint(values).astype(np.int64) if values.dtype.kind == "f" else values   # LUT indices
        out, ends = apply_voi_lut(values, ds, index=index), apply_voi_lut(probe, ds, index=index)
    except (ValueError, TypeError, IndexError, AttributeError, KeyError):    # a broken window or LUT: robust
        return robust_window(values)
    lo, hi = float(np.min(ends)), float(np.max(ends))
    return to_uint8(out, lo, hi)


def colour(values, ds):
    """Colour values -> uint8 RGB by their bit depth (palette colour: its LUT's, 8 or 16 bits), never stretched
    per image."""
    if values.dtype == np.uint8:
        return values
    if ds.get("PhotometricInterpretation") == "PALETTE COLOR":
        bits = 8 * values.dtype.itemsize               # the LUT's entries: 8 or 16 bits
    else:
        bits = int(ds.get("BitsStored") or 8)
    return to_uint8(values, 0, 2 ** bits - 1)
