"""DICOM in: a DICOM file (found by content: 'DICM' at byte 128, whatever its name) decoded to the same uint8
array a JPEG gives, gray (H, W) or RGB (H, W, 3), behind the one decoder seam (images.decode).

Intensities as a radiologist sees them: the Modality LUT (rescale slope / intercept) first, then the VOI LUT or
the Window Center / Width of the header (``preprocess.dicom_window: header``, window number
``dicom_window_index``); without one, values of up to 8 bits are scaled by their bit depth (8-bit: as stored)
and deeper (or rescaled) ones go through the robust percentile window every deep image gets (intensity.py;
``robust`` forces it, ``[center, width]`` fixes a window in modality units); MONOCHROME1 is inverted (dark is
dark); YBR and planar colour come out as RGB, PALETTE COLOR through its palette. A multi-frame file becomes
one image (``preprocess.frames``): its middle or first frame, or the per-pixel min / max / mean over all
frames, taken as displayed (the min is the darkest each pixel gets, so MONOCHROME1 is minded).

Decoders: pydicom (pinned, MIT) reads the files and decodes uncompressed data (little / big endian, implicit /
explicit VR), RLE Lossless and deflated files itself; the pylibjpeg plugins, which pydicom 3 finds by itself,
decode the compressed syntaxes: pylibjpeg-libjpeg JPEG baseline / extended / lossless and JPEG-LS,
pylibjpeg-openjpeg JPEG 2000 (baseline 8-bit JPEG goes to Pillow first, a dependency already, whose
libjpeg-turbo is about 3x faster; libjpeg takes over where Pillow fails). Why these and
not GDCM (python-gdcm): GDCM decodes the same syntaxes (and some 12-bit lossy JPEGs libjpeg refuses) under a BSD
licence, but as one large C++ wheel with its own release cycle per platform and Python; the pylibjpeg plugins
are small binary wheels (under 1 MB installed each) for Linux, macOS and Windows on every supported Python.
Licences: pylibjpeg and pylibjpeg-openjpeg MIT (OpenJPEG BSD-2), pylibjpeg-libjpeg GPLv3 (it wraps Thomas
Richter's libjpeg): fine for a harness that is run, to be weighed before redistributing it in a closed
product (then swap in python-gdcm: nothing here names a plugin). A file that no installed plugin decodes is
named by the data check as undecodable, one line per file, and becomes a blank view with a warning.
"""
import logging
from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, iter_pixels, pixel_array
from pydicom.uid import JPEGBaseline8Bit

from ..utilities.config import DEFAULTS
from ..utilities.errors import UserError
from .intensity import robust_window, to_uint8

MAGIC_AT, MAGIC = 128, b"DICM"
HEAD_BYTES = MAGIC_AT + len(MAGIC)          # the bytes that tell a DICOM file
FRAMES = ("middle", "first", "min", "max", "mean")
WINDOWS = ("header", "robust")
MONO = ("MONOCHROME1", "MONOCHROME2")
PROBE = np.array([-1e30, 1e30])             # through a VOI transform: its output range
DEFAULT = DEFAULTS["preprocess"]
FAST = {JPEGBaseline8Bit: "pillow"}          # Pillow's libjpeg-turbo decodes baseline JPEG ~3x faster than libjpeg
# pydicom logs every failed decoder attempt with its traceback; a failure is reported here, in one line
logging.getLogger("pydicom.pixels.decoders.base").setLevel(logging.CRITICAL)


class DicomError(Exception):
    """A DICOM file that cannot be read or decoded; the message is one line naming why."""


def is_dicom(head):
    """True when a file's first bytes (at least 132) are those of a DICOM file ('DICM' at byte 128)."""
    return bytes(head[MAGIC_AT:HEAD_BYTES]) == MAGIC


@dataclass(frozen=True)
class Reading:
    """How a DICOM file becomes one image: which frame(s) and which window (module docstring); the defaults
    are config.DEFAULTS'."""
    frames: str = DEFAULT["frames"]                 # middle | first | min | max | mean
    window: object = DEFAULT["dicom_window"]        # header | robust | (center, width) in modality units
    window_index: int = DEFAULT["dicom_window_index"]   # which of the header's windows; past the last: the last

    @classmethod
    def of(cls, preprocess):
        """The reading of a config's ``preprocess`` section; UserError for a value it cannot take."""
        frames, window, index = (preprocess[k] for k in ("frames", "dicom_window", "dicom_window_index"))
        if frames not in FRAMES:
            raise UserError(f"preprocess.frames must be one of {', '.join(FRAMES)}, not {frames!r}")
        if isinstance(window, (list, tuple)):
            if len(window) != 2 or not all(isinstance(v, (int, float)) for v in window) or window[1] <= 0:
                raise UserError(f"preprocess.dicom_window [center, width] needs two numbers, width > 0: {window}")
            window = (float(window[0]), float(window[1]))
        elif window not in WINDOWS:
            raise UserError(f"preprocess.dicom_window must be header, robust or [center, width], not {window!r}")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise UserError(f"preprocess.dicom_window_index must be a whole number >= 0, not {index!r}")
        return cls(frames, window, index)

    def key(self):
        """The settings as text (part of the view cache's keys)."""
        return f"{self.frames}|{self.window}|{self.window_index}"


def one_line(exc):
    """An exception's message as one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def read(source, pixels=True):
    """The dataset of a DICOM file (a path or an open binary file; without its pixel data unless ``pixels``);
    DicomError when unreadable."""
    try:
        return pydicom.dcmread(source if hasattr(source, "read") else str(source), stop_before_pixels=not pixels)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DicomError(f"unreadable DICOM header ({one_line(exc)})") from None


def syntax(ds):
    """The name of a dataset's transfer syntax, or '?'."""
    uid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return uid.name if uid is not None else "?"


def n_frames(ds):
    try:
        return max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def header(path):
    """What the data check reports of a file: {modality, photometric, bits, frames, syntax, size (w, h),
    colour}; DicomError when the header cannot be read or has no image."""
    ds = read(path, pixels=False)
    if "Rows" not in ds or "Columns" not in ds:
        raise DicomError("no image in this DICOM file (a report, plan or waveform?)")
    photometric = str(ds.get("PhotometricInterpretation", "?"))
    return dict(modality=str(ds.get("Modality", "?")), photometric=photometric, bits=ds.get("BitsStored", "?"),
                frames=n_frames(ds), syntax=syntax(ds), size=(int(ds.Columns), int(ds.Rows)),
                colour=photometric not in MONO and photometric != "?")


def summary(paths):
    """What a folder's DICOM files are, as counts per value: ['modality: XA=16, CT=2', 'photometric: ...',
    'bits stored: ...', 'frames: ...', 'transfer syntax: ...'] (a file whose header cannot be read is left out:
    the decode check names it)."""
    names = {"modality": "modality", "photometric": "photometric", "bits": "bits stored", "frames": "frames",
             "syntax": "transfer syntax"}
    counts = {key: Counter() for key in names}
    for path in paths:
        try:
            head = header(path)
        except DicomError:
            continue
        for key, count in counts.items():
            count[str(head[key])] += 1
    return [f"{names[k]}: " + ", ".join(f"{v}={n}" for v, n in c.most_common()) for k, c in counts.items() if c]


def frame_values(ds, reading, plugin=""):
    """The frame(s) of a dataset as one array of values (modality units for monochrome, RGB for colour);
    ``plugin``: the pydicom decoding plugin to use ('': the first that succeeds)."""
    mono1 = ds.get("PhotometricInterpretation") == "MONOCHROME1"
    n = n_frames(ds)
    if reading.frames in ("first", "middle") or n == 1:
        index = 0 if reading.frames == "first" else n // 2
        return values_of(pixel_array(ds, index=index, decoding_plugin=plugin), ds)
    pick = {"min": np.fmax if mono1 else np.fmin, "max": np.fmin if mono1 else np.fmax}.get(reading.frames)
    total, dtype = None, None
    for frame in iter_pixels(ds, decoding_plugin=plugin):
        values = values_of(frame, ds)
        dtype, values = values.dtype, values.astype(np.float64)
        total = values if total is None else pick(total, values) if pick else total + values
    total = total if pick else total / n
    return np.rint(total).astype(np.uint8) if dtype == np.uint8 else total     # 8-bit stays 8-bit


def values_of(frame, ds):
    """One decoded frame through the Modality LUT (monochrome) or the palette (PALETTE COLOR)."""
    photometric = ds.get("PhotometricInterpretation")
    if photometric in MONO:
        return apply_modality_lut(frame, ds)
    if photometric == "PALETTE COLOR":
        return apply_color_lut(frame, ds)
    return frame


def window(values, ds, reading):
    """Monochrome values -> uint8 through the header's VOI (or a fixed window), else the robust window."""
    if isinstance(reading.window, tuple):
        ds.WindowCenter, ds.WindowWidth = reading.window
        for key in ("VOILUTSequence", "VOILUTFunction"):
            if key in ds:
                del ds[key]
    has_voi = "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds)
    if reading.window == "robust" or not has_voi:
        bits = int(ds.get("BitsStored") or 8)          # up to 8 bits without a window: by the bit depth (8: as
        if values.dtype == np.uint8 and bits <= 8 and reading.window != "robust":     # stored, as an 8-bit PNG)
            return to_uint8(values, 0, 2 ** bits - 1)
        return robust_window(values)                   # deeper (or rescaled) ones robustly
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


def decode(source, channels=1, reading=Reading()):
    """A DICOM file (a path or an open binary file) -> uint8 gray (H, W) with ``channels`` 1 (colour
    converted) or RGB (H, W, 3) with 3 (gray copied); DicomError (one line: why) when the file has no image or
    its pixel data cannot be decoded."""
    ds = read(source)
    if "PixelData" not in ds:
        raise DicomError("no pixel data in this DICOM file (a report, plan or waveform?)")
    uid = getattr(ds.file_meta, "TransferSyntaxUID", None)
    for plugin in dict.fromkeys([FAST.get(uid, ""), ""]):          # the fast one first, then any
        try:
            values = frame_values(ds, reading, plugin)
            break
        except Exception as exc:      # noqa: BLE001 - any decoder failure (plugin missing, truncated data ...)
            failure = exc
    else:
        raise DicomError(f"pixel data not decodable ({syntax(ds)}: {one_line(failure)})")
    photometric = ds.get("PhotometricInterpretation")
    if photometric in MONO:
        img = window(values, ds, reading)
        img = 255 - img if photometric == "MONOCHROME1" else img
    else:
        img = values if values.dtype == np.uint8 else robust_window(values)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if channels == 1:
        return img if img.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB) if img.ndim == 2 else np.ascontiguousarray(img[:, :, :3])
