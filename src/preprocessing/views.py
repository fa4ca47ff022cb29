"""The prepared view: the deterministic preprocessing every image goes through, the same in training and test
(``Prep``: decode gray or RGB, crop the border or the field of view, pad to a square, resize, CLAHE), and the
masks that go with an image, cut and resized as it is."""
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from ..readers import dicom
from ..readers.images import decode
from ..readers.masks import read as read_mask
from ..readers.masks import threshold_of
from ..utilities.errors import UserError
from .geometry import FULL, content_box, crop_to, square_resize

CROPS = ("none", "border", "fov")
CLAHE_CHANNELS = ("lightness", "green")


@dataclass(frozen=True)
class Prep:
    """The deterministic preprocessing of a task's images, the same in training and test."""
    size: int
    crop: str = "none"               # none | border (a dark frame with text) | fov (the round field of view)
    channels: int = 1                # 1: gray; 3: RGB
    clahe_clip: float = 0.0          # CLAHE clip limit after resizing; 0: no CLAHE
    clahe_grid: int = 8
    clahe_channel: str = "lightness"  # lightness (L of Lab) | green; gray images: their one channel
    mask_threshold: int = 0          # a mask file's pixel above this is foreground (readers/masks.py)
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


def input_recipe(cfg):
    """What a fold's network is fed, as plain values (kept in every checkpoint): ``decode``, the preparation of
    the views (Prep's settings, the mask mode and the images per view: what the loader must do alike for every
    fold of a run), and ``mean`` / ``std``, the normalisation the fold was trained with (ImageNet weights bring
    their own), applied per fold at test time."""
    decode = asdict(Prep.of(cfg))
    decode["reading"] = {k: list(v) if isinstance(v, tuple) else v for k, v in decode["reading"].items()}
    decode.update(mask_mode=cfg["model"]["mask_mode"], images_per_view=int(cfg["data"]["images_per_view"]))
    p = cfg["preprocess"]
    return {"decode": decode, "mean": p["mean"], "std": p["std"]}


def recipe_differences(a, b, keys=("decode",)):
    """['img_size 384 vs 256', ...]: where two input recipes differ, in their ``keys`` (decode; or mean, std)."""
    out = []
    for key in keys:
        x, y = a[key], b[key]
        if isinstance(x, dict):
            out += [f"{k} {x.get(k)} vs {y.get(k)}" for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k)]
        elif x != y:
            out.append(f"{key} {x} vs {y}")
    return out


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


def clahe(img, clip, grid, channel="lightness"):
    """Contrast-limited adaptive histogram equalisation of a gray image, or of an RGB image's lightness
    (L of Lab) or green channel."""
    op = cv2.createCLAHE(clipLimit=float(clip), tileGridSize=(int(grid), int(grid)))
    if img.ndim == 2:
        return op.apply(img)
    if channel == "green":
        out = img.copy()
        out[:, :, 1] = op.apply(np.ascontiguousarray(img[:, :, 1]))
        return out
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = op.apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
