"""Image decoding and the deterministic preprocessing every view goes through (train and test alike)."""
import io
import os
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from . import dicom
from .errors import UserError
from .intensity import clahe, robust_window
from .masks import read as read_mask, threshold_of

cv2.setNumThreads(1)  # DataLoader workers give the parallelism; OpenCV threads would oversubscribe


# the first bytes of each image format the harness reads, and the bytes its file ends with
# (a DICOM file is told by 'DICM' at byte 128: dicom.is_dicom; it has no ending)
SIGNATURES = {b"\xff\xd8": "jpeg", b"\x89PNG": "png", b"II*\x00": "tiff", b"MM\x00*": "tiff"}
ENDINGS = {"jpeg": b"\xff\xd9", "png": b"IEND\xaeB`\x82"}


def format_of(head):
    """'jpeg', 'png', 'tiff', 'dicom' or None from a file's first bytes (132 of them to tell a DICOM file)."""
    if dicom.is_dicom(head):
        return "dicom"
    return next((k for sig, k in SIGNATURES.items() if bytes(head).startswith(sig)), None)


def head_of(path):
    """A file's first bytes, as many as format_of needs; b'' when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(dicom.HEAD_BYTES)
    except OSError:
        return b""


def looks_like_image(path):
    """Cheap content check (a JPEG, PNG or DICOM signature in the first bytes), whatever the extension says."""
    return format_of(head_of(path)) is not None


# EXIF orientation is ignored, as IMREAD_UNCHANGED (the full-size path, masks, header sizes) ignores it
REDUCED = {f: getattr(cv2, f"IMREAD_REDUCED_GRAYSCALE_{f}") | cv2.IMREAD_IGNORE_ORIENTATION for f in (2, 4, 8)}
REDUCED_COLOR = {f: getattr(cv2, f"IMREAD_REDUCED_COLOR_{f}") | cv2.IMREAD_IGNORE_ORIENTATION for f in (2, 4, 8)}
CROPS = ("none", "border", "fov")
CLAHE_CHANNELS = ("lightness", "green")
FULL = (0.0, 1.0, 0.0, 1.0)          # a content box (y0, y1, x0, x1) as fractions of the image: all of it


@dataclass(frozen=True)
class Prep:
    """The deterministic preprocessing of a task's images, the same in training and test."""
    size: int
    crop: str = "none"               # none | border (a dark frame with text) | fov (the round field of view)
    channels: int = 1                # 1: gray; 3: RGB
    clahe_clip: float = 0.0          # CLAHE clip limit after resizing; 0: no CLAHE
    clahe_grid: int = 8
    clahe_channel: str = "lightness"  # lightness (L of Lab) | green; gray images: their one channel
    mask_threshold: int = 0          # a mask file's pixel above this is foreground (masks.py)
    reading: dicom.Reading = dicom.Reading()   # how a DICOM file becomes one image (frames, window)

    @classmethod
    def of(cls, cfg):
        p, channels = cfg["preprocess"], int(cfg["data"]["channels"])
        crop = "fov" if p["fov_crop"] else "border" if p["crop_border"] else "none"
        if channels not in (1, 3):
            raise UserError(f"data.channels must be 1 (gray) or 3 (RGB), not {channels}")
        if p["clahe_channel"] not in CLAHE_CHANNELS:
            raise UserError(f"preprocess.clahe_channel must be one of {', '.join(CLAHE_CHANNELS)}")
        if float(p["clahe_clip"]) < 0 or int(p["clahe_grid"]) < 1:
            raise UserError("preprocess.clahe_clip must be >= 0 (0: no CLAHE) and clahe_grid >= 1 (tiles per side)")
        return cls(int(p["img_size"]), crop, channels, float(p["clahe_clip"]), int(p["clahe_grid"]),
                   p["clahe_channel"], threshold_of(cfg), dicom.Reading.of(p))

    def key(self):
        """The settings as text, for the view cache's keys (old entries of gray tasks keep their key)."""
        base = f"{self.size}|{self.crop != 'none'}" + (f"|m{self.mask_threshold}" if self.mask_threshold else "")
        base += "" if self.reading == dicom.Reading() else f"|d{self.reading.key()}"
        if (self.crop, self.channels, self.clahe_clip) in (("none", 1, 0.0), ("border", 1, 0.0)):
            return base
        return f"{base}|{self.crop}|{self.channels}|{self.clahe_clip}|{self.clahe_grid}|{self.clahe_channel}"


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
    RGB (H, W, 3) with 3 (gray is copied to the three channels). Deep images go through the robust window
    (intensity.py), not a min/max stretch.

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
    if img.dtype != np.uint8:
        img = robust_window(img)
    if channels == 1:
        return img, None
    return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB if img.ndim == 2 else cv2.COLOR_BGR2RGB), None


def decode_gray(path, min_side=None):
    return decode(path, min_side, channels=1)


def gray_of(img):
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def border_box(img, dark=20, min_fraction=0.5, min_keep=0.25):
    """The box (y0, y1, x0, x1) inside a dark frame (with any ruler ticks or burned-in text on it), or None.

    A row or column belongs to the content when at least ``min_fraction`` of its pixels are brighter than
    ``dark``; the box runs from the first to the last such row and column. When it would keep less than
    ``min_keep`` of the area there is no box (a dark image, not a frame).
    """
    bright = gray_of(img) > dark
    return _box(bright.mean(axis=1) >= min_fraction, bright.mean(axis=0) >= min_fraction, img, min_keep)


def fov_box(img, dark=15, min_count=3, min_keep=0.25):
    """The bounding box of a fundus photograph's round field of view (the black surround goes), or None.

    Rows and columns with at least ``min_count`` pixels brighter than ``dark`` belong to it: a circle's top
    and bottom rows, which a share-of-the-row rule would drop, are kept."""
    bright = gray_of(img) > dark
    return _box(bright.sum(axis=1) >= min_count, bright.sum(axis=0) >= min_count, img, min_keep)


def _box(rows, cols, img, min_keep):
    rows, cols = np.flatnonzero(rows), np.flatnonzero(cols)
    if rows.size == 0 or cols.size == 0:
        return None
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if (y1 - y0) * (x1 - x0) < min_keep * img.shape[0] * img.shape[1]:
        return None
    return y0, y1, x0, x1


def crop_border(img, **kw):
    """The image inside its dark frame (unchanged when it has none)."""
    box = border_box(img, **kw)
    return img if box is None else img[box[0]:box[1], box[2]:box[3]]


def content_box(img, crop):
    """The part of the image the network sees, as fractions (y0, y1, x0, x1): all of it unless ``crop``."""
    box = {"border": border_box, "fov": fov_box}[crop](img) if crop != "none" else None
    if box is None:
        return FULL
    h, w = img.shape[:2]
    return box[0] / h, box[1] / h, box[2] / w, box[3] / w


def pixels(box, h, w):
    """A fractional box on an (h, w) image in whole pixels (y0, y1, x0, x1)."""
    y0, y1, x0, x1 = (int(round(f * n)) for f, n in zip(box, (h, h, w, w)))
    return y0, max(y1, y0 + 1), x0, max(x1, x0 + 1)


def crop_to(img, box):
    y0, y1, x0, x1 = pixels(box, *img.shape[:2])
    return img[y0:y1, x0:x1]


def pad_square(img):
    h, w = img.shape[:2]
    if h == w:
        return img
    size = max(h, w)
    top, left = (size - h) // 2, (size - w) // 2
    return cv2.copyMakeBorder(img, top, size - h - top, left, size - w - left, cv2.BORDER_CONSTANT, value=0)


def square_resize(img, size):
    img = pad_square(img)
    interp = cv2.INTER_AREA if img.shape[0] >= size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def prepare(img, prep):
    """A decoded image -> (uint8 (S, S) or (S, S, 3) view, content box): crop, pad to square, area resize,
    CLAHE."""
    box = content_box(img, prep.crop)
    out = square_resize(crop_to(img, box), prep.size)
    if prep.clahe_clip > 0:
        out = clahe(out, prep.clahe_clip, prep.clahe_grid, prep.clahe_channel)
    return out, box


def blank(prep):
    return np.zeros((prep.size, prep.size) + ((3,) if prep.channels == 3 else ()), np.uint8)


def load_view(path, prep):
    """(prepared view, content box, None), or (blank view, FULL, reason) when the file is missing or
    undecodable."""
    if path is None:
        return blank(prep), FULL, "missing"
    img = decode(path, int(prep.size * 1.25), prep.channels, prep.reading)   # min_side: a margin for the crop
    if img is None:
        return blank(prep), FULL, "unreadable"
    view, box = prepare(img, prep)
    return view, box, None


def view_box(path, prep):
    """The content box of an image file, found exactly as load_view finds it (FULL without a crop)."""
    return FULL if prep.crop == "none" or path is None else load_view(path, prep)[1]


def load_mask(path, image_path, prep, box=None):
    """A mask file prepared like its image (cut to the image's content box, padded, resized): uint8 (S, S),
    or None when the file cannot be decoded. ``box``: the image's content box, when known already."""
    mask = read_mask(path, prep.mask_threshold)
    if mask is None:
        return None
    return square_resize(crop_to(mask, view_box(image_path, prep) if box is None else box), prep.size)


def unpad(prob_square, h, w):
    """Undo pad_square + resize: a (S, S) map back onto the original (h, w) image."""
    size = max(h, w)
    full = cv2.resize(prob_square, (size, size), interpolation=cv2.INTER_LINEAR)
    top, left = (size - h) // 2, (size - w) // 2
    return full[top:top + h, left:left + w]


def restore(prob_square, box, h, w):
    """Undo prepare: a (S, S) map back onto the original (h, w) image (zero outside the content box)."""
    y0, y1, x0, x1 = pixels(box, h, w)
    if (y0, y1, x0, x1) == (0, h, 0, w):
        return unpad(prob_square, h, w)
    out = np.zeros((h, w), prob_square.dtype)
    out[y0:y1, x0:x1] = unpad(prob_square, y1 - y0, x1 - x0)
    return out
