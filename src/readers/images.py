"""Image decoding: any JPEG / PNG / TIFF (gray or RGB, 8 or 16 bit) or DICOM file, told by its content, to the
uint8 array every view is made of (deep data by the bits it uses or the robust window: intensity.py; DICOM
through dicom.py)."""
import io
import os

import cv2
import numpy as np
from PIL import Image

from . import dicom
from .formats import format_of, head_of
from .intensity import depth_window, robust_window

cv2.setNumThreads(1)  # DataLoader workers give the parallelism; OpenCV threads would oversubscribe


# EXIF orientation is ignored, as IMREAD_UNCHANGED (the full-size path, masks, header sizes) ignores it
REDUCED = {f: getattr(cv2, f"IMREAD_REDUCED_GRAYSCALE_{f}") | cv2.IMREAD_IGNORE_ORIENTATION for f in (2, 4, 8)}
REDUCED_COLOR = {f: getattr(cv2, f"IMREAD_REDUCED_COLOR_{f}") | cv2.IMREAD_IGNORE_ORIENTATION for f in (2, 4, 8)}


def header_size(source):
    """(width, height) read from the file header only (a path or the file's first bytes), or None."""
    try:
        if not isinstance(source, (str, bytes)) and hasattr(source, "tobytes"):
            source = io.BytesIO(memoryview(source)[:65536])                # the header is in the first bytes
        elif isinstance(source, (str, os.PathLike)) and dicom.is_dicom(head_of(source)):
            return dicom.header(source)["size"]
        with Image.open(source) as im:
            return im.size
    except (OSError, ValueError, Image.DecompressionBombError, dicom.DicomError):
        return None


def jpeg_reduction(buf, min_side):
    """The largest JPEG scale-down (8, 4, 2) whose result keeps a short side of at least ``min_side``, or 1."""
    if not min_side or format_of(buf[:4].tobytes()) != "jpeg":
        return 1
    size = header_size(buf)
    if size is None:
        return 1
    return next((f for f in (8, 4, 2) if min(size) // f >= min_side), 1)


def decode(path, min_side=None, channels=1, reading=dicom.Reading()):
    """Decode any JPEG/PNG/TIFF (gray or RGB, 8 or 16 bit) or DICOM file (dicom.py; ``reading``: its frames and
    window) by its content, not its extension, to uint8: gray (H, W) with ``channels`` 1 (colour is converted),
    RGB (H, W, 3) with 3 (gray is copied to the three channels). Deep images are scaled by the bits they use
    (signed or float ones by the robust window; intensity.py), never min/max-stretched.

    With ``min_side``, a JPEG at least twice that size is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself
    (much faster, and the image is shrunk anyway). Returns None when the file is empty or undecodable
    (read_image says why).
    """
    return read_image(path, min_side, channels, reading)[0]


def read_image(path, min_side=None, channels=1, reading=dicom.Reading()):
    """(the image ``decode`` gives, None), or (None, why it cannot be decoded, in one line)."""
    try:
        buf = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        return None, f"unreadable file ({exc.strerror})"
    if buf.size == 0:
        return None, "empty file"
    if dicom.is_dicom(buf[:dicom.HEAD_BYTES]):
        try:
            return dicom.decode(io.BytesIO(buf.tobytes()), channels, reading), None
        except dicom.DicomError as exc:
            return None, str(exc)
    factor = jpeg_reduction(buf, min_side)
    if factor > 1:
        img = cv2.imdecode(buf, (REDUCED if channels == 1 else REDUCED_COLOR)[factor])
        if img is not None and img.size:
            return (img if channels == 1 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)), None
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        return None, "not decodable (damaged or truncated?)"
    if img.ndim == 3:
        if img.shape[2] == 4:
            img = img[:, :, :3]
        if img.shape[2] == 1:
            img = img[:, :, 0]
        elif channels == 1:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if img.dtype != np.uint8:         # deep integers as their 8-bit export shows them; float or signed: robust
        img = depth_window(img) if img.dtype.kind == "u" else robust_window(img)
    if channels == 1:
        return img, None
    return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB if img.ndim == 2 else cv2.COLOR_BGR2RGB), None


def decode_gray(path, min_side=None):
    return decode(path, min_side, channels=1)
