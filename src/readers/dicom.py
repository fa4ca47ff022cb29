"""DICOM in: a DICOM file (found by content: 'DICM' at byte 128, whatever its name) decoded to the same uint8
array a JPEG gives, gray (H, W) or RGB (H, W, 3), behind the one decoder seam (images.decode). The seam is total:
whatever a damaged file makes pydicom or a decoder raise becomes ``DicomError`` with one line saying why, and the
view is a blank image with a warning.

Intensities as a radiologist sees them (dicom_pixels.py): the Modality LUT (rescale slope / intercept) first,
then the VOI LUT or the Window Center / Width of the header (``preprocess.dicom_window: header``, window number
``dicom_window_index``); without one, values stored as they are (no rescale) are scaled by the bits they use (an
8-bit file exactly as its 8-bit export) and rescaled ones go through the robust percentile window (intensity.py;
``robust`` forces it, ``[center, width]`` fixes a window in modality units); MONOCHROME1 is inverted (dark is
dark); YBR and planar colour come out as RGB, PALETTE COLOR through its palette, deep colour by its bit depth. A
multi-frame file becomes one image (``preprocess.frames``): its middle or first frame, or the per-pixel min /
max / mean over all frames, taken as displayed (the min is the darkest each pixel gets, so MONOCHROME1 is minded).

Decoders: pydicom (pinned, MIT) reads the files and decodes uncompressed data (little / big endian, implicit /
explicit VR), RLE Lossless and deflated files itself; the pylibjpeg plugins, which pydicom 3 finds by itself,
decode the compressed syntaxes: pylibjpeg-libjpeg JPEG baseline / extended / lossless and JPEG-LS,
pylibjpeg-openjpeg JPEG 2000 (baseline 8-bit JPEG goes to Pillow first, a dependency already, whose
libjpeg-turbo is about 3x faster; libjpeg takes over where Pillow fails); when all of them fail on a JPEG-family
file, imagecodecs (BSD) decodes it: 12-bit lossy JPEG (Process 4), which libjpeg and GDCM refuse. Why not GDCM
(python-gdcm): one large C++ wheel with its own release cycle per platform and Python, and it fails on the
same 12-bit lossy files. Licences: pylibjpeg and pylibjpeg-openjpeg MIT (OpenJPEG BSD-2), pylibjpeg-libjpeg
GPLv3 (it wraps Thomas Richter's libjpeg): fine for a harness that is run, to be weighed before redistributing
it in a closed product. A file that no decoder reads is named by the data check as undecodable, one line per
file, and becomes a blank view with a warning.
"""
import logging
from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np
import pydicom
from pydicom.uid import JPEGBaseline8Bit

from ..utilities.config import DEFAULTS
from ..utilities.errors import UserError
from . import dicom_pixels as P

MAGIC_AT, MAGIC = 128, b"DICM"
HEAD_BYTES = MAGIC_AT + len(MAGIC)          # the bytes that tell a DICOM file
FRAMES = ("middle", "first", "min", "max", "mean")
WINDOWS = ("header", "robust")
MONO = P.MONO
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
    DicomError when unreadable, whatever pydicom raised."""
    try:
        return pydicom.dcmread(source if hasattr(source, "read") else str(source), stop_before_pixels=not pixels)
    except Exception as exc:      # noqa: BLE001 - a damaged header can raise anything pydicom has
        raise DicomError(f"unreadable DICOM header ({one_line(exc)})") from None


def syntax(ds):
    """The name of a dataset's transfer syntax, or '?'."""
    uid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return uid.name if uid is not None else "?"


def header(path):
    """What the data check reports of a file: {modality, photometric, bits, frames, syntax, size (w, h),
    colour}; DicomError when the header cannot be read or has no image."""
    ds = read(path, pixels=False)
    try:
        if "Rows" not in ds or "Columns" not in ds:
            raise DicomError("no image in this DICOM file (a report, plan or waveform?)")
        photometric = str(ds.get("PhotometricInterpretation", "?"))
        return dict(modality=str(ds.get("Modality", "?")), photometric=photometric, bits=ds.get("BitsStored", "?"),
                    frames=P.n_frames(ds), syntax=syntax(ds), size=(int(ds.Columns), int(ds.Rows)),
                    colour=photometric not in MONO and photometric != "?")
    except DicomError:
        raise
    except Exception as exc:      # noqa: BLE001 - a damaged element read lazily: the file's one line
        raise DicomError(f"unreadable DICOM header ({one_line(exc)})") from None


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


def decode(source, channels=1, reading=Reading()):
    """A DICOM file (a path or an open binary file) -> uint8 gray (H, W) with ``channels`` 1 (colour
    converted) or RGB (H, W, 3) with 3 (gray copied); DicomError (one line: why) when the file has no image or
    its pixel data cannot be decoded, whatever went wrong inside pydicom or a decoder (a damaged header too)."""
    try:
        return _decode(source, channels, reading)
    except DicomError:
        raise
    except Exception as exc:      # noqa: BLE001 - the seam is total: any failure of a file is its one line
        raise DicomError(f"not decodable ({one_line(exc)})") from None


def _decode(source, channels, reading):
    ds = read(source)
    if "PixelData" not in ds:
        raise DicomError("no pixel data in this DICOM file (a report, plan or waveform?)")
    uid = getattr(ds.file_meta, "TransferSyntaxUID", None)
    plugins = list(dict.fromkeys([FAST.get(uid, ""), ""])) + ([P.FALLBACK] if P.can_fall_back(ds) else [])
    failures = []
    for plugin in plugins:                                  # the fast one first, then any, then imagecodecs
        try:
            values = P.frame_values(ds, reading, plugin)
            break
        except Exception as exc:      # noqa: BLE001 - any decoder failure (plugin missing, truncated data ...)
            failures.append(exc)
    else:                             # pydicom's own account of its plugins says most
        raise DicomError(f"pixel data not decodable ({syntax(ds)}: {one_line(failures[min(1, len(failures) - 1)])})")
    photometric = ds.get("PhotometricInterpretation")
    if photometric in MONO:
        img = P.window(values, ds, reading)
        img = 255 - img if photometric == "MONOCHROME1" else img
    else:
        img = P.colour(values, ds)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if channels == 1:
        return img if img.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB) if img.ndim == 2 else np.ascontiguousarray(img[:, :, :3])
