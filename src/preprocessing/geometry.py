"""Where the network looks in an image and how a view is brought to the input size: the content box (inside a
dark frame, or a fundus photograph's round field of view), crop, pad to a square, resize; and back again, to put
a predicted map onto the original image."""
import cv2
import numpy as np

FULL = (0.0, 1.0, 0.0, 1.0)          # a content box (y0, y1, x0, x1) as fractions of the image: all of it


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
