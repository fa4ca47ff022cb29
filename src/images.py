"""Image decoding and the deterministic preprocessing every view goes through (train and test alike)."""
import io

import cv2
import numpy as np
from PIL import Image

cv2.setNumThreads(1)  # DataLoader workers give the parallelism; OpenCV threads would oversubscribe


# the first bytes of each image format the harness reads, and the bytes its file ends with
SIGNATURES = {b"\xff\xd8": "jpeg", b"\x89PNG": "png"}
ENDINGS = {"jpeg": b"\xff\xd9", "png": b"IEND\xaeB`\x82"}


def format_of(head):
    """'jpeg', 'png' or None from a file's first bytes."""
    return next((k for sig, k in SIGNATURES.items() if bytes(head).startswith(sig)), None)


def looks_like_image(path):
    """Cheap content check (first bytes are a JPEG or PNG signature), whatever the extension says."""
    try:
        with open(path, "rb") as fh:
            return format_of(fh.read(4)) is not None
    except OSError:
        return False


REDUCED = {2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4, 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}


def header_size(source):
    """(width, height) read from the file header only (a path or the file's first bytes), or None."""
    try:
        if not isinstance(source, (str, bytes)) and hasattr(source, "tobytes"):
            source = io.BytesIO(memoryview(source)[:65536])                # the header is in the first bytes
        with Image.open(source) as im:
            return im.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def jpeg_reduction(buf, min_side):
    """The largest JPEG scale-down (8, 4, 2) whose result keeps a short side of at least ``min_side``, or 1."""
    if not min_side or format_of(buf[:4].tobytes()) != "jpeg":
        return 1
    size = header_size(buf)
    if size is None:
        return 1
    return next((f for f in (8, 4, 2) if min(size) // f >= min_side), 1)


def decode_gray(path, min_side=None):
    """Decode any JPEG/PNG (gray or RGB, 8 or 16 bit) by its content, not its extension, to uint8 gray.

    With ``min_side``, a JPEG at least twice that size is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself
    (much faster, and the image is shrunk anyway). Returns None when the file is empty or undecodable.
    """
    try:
        buf = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if buf.size == 0:
        return None
    factor = jpeg_reduction(buf, min_side)
    if factor > 1:
        img = cv2.imdecode(buf, REDUCED[factor])
        if img is not None and img.size:
            return img
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        return None
    if img.ndim == 3:
        if img.shape[2] == 4:
            img = img[:, :, :3]
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.shape[2] == 3 else img[:, :, 0]
    if img.dtype != np.uint8:
        img = img.astype(np.float32)
        lo, hi = float(img.min()), float(img.max())
        img = ((img - lo) * (255.0 / max(hi - lo, 1e-6))).astype(np.uint8)
    return img


def crop_border(img, dark=20, min_fraction=0.5, min_keep=0.25):
    """Remove a dark frame (with any ruler ticks or burned-in text on it) around the image content.

    A row or column belongs to the content when at least ``min_fraction`` of its pixels are brighter than
    ``dark``; the crop is the box from the first to the last such row and column. When that box would keep
    less than ``min_keep`` of the area the image is returned unchanged (a dark image, not a frame).
    """
    bright = img > dark
    rows = np.flatnonzero(bright.mean(axis=1) >= min_fraction)
    cols = np.flatnonzero(bright.mean(axis=0) >= min_fraction)
    if rows.size == 0 or cols.size == 0:
        return img
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if (y1 - y0) * (x1 - x0) < min_keep * img.shape[0] * img.shape[1]:
        return img
    return img[y0:y1, x0:x1]


def pad_square(img):
    h, w = img.shape
    if h == w:
        return img
    size = max(h, w)
    top, left = (size - h) // 2, (size - w) // 2
    return cv2.copyMakeBorder(img, top, size - h - top, left, size - w - left, cv2.BORDER_CONSTANT, value=0)


def prepare(img, size, crop=True):
    """uint8 gray image -> uint8 (size, size): border crop, pad to square, area resize."""
    if crop:
        img = crop_border(img)
    img = pad_square(img)
    interp = cv2.INTER_AREA if img.shape[0] >= size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def load_view(path, size, crop=True):
    """A prepared view, or (blank view, reason) when the file is missing or undecodable."""
    if path is None:
        return np.zeros((size, size), np.uint8), "missing"
    img = decode_gray(path, min_side=int(size * 1.25))      # margin for the border crop
    if img is None:
        return np.zeros((size, size), np.uint8), "unreadable"
    return prepare(img, size, crop), None


def unpad(prob_square, h, w):
    """Undo pad_square + resize: a (S, S) map back onto the original (h, w) image."""
    size = max(h, w)
    full = cv2.resize(prob_square, (size, size), interpolation=cv2.INTER_LINEAR)
    top, left = (size - h) // 2, (size - w) // 2
    return full[top:top + h, left:left + w]
