"""Multi-view samples as tensors: (views, channels, size, size) per sample, with training-only augmentation."""
import logging

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..preprocessing import mask_modes
from ..preprocessing.cache import ViewCache
from ..preprocessing.views import Prep, load_mask, load_view, view_box
from ..readers.masks import ON, covered
from ..utilities import config as C
from ..utilities.errors import UserError

log = logging.getLogger("harness")


def build_augment(aug):
    """Augmentations that keep small bright/dark blobs: mild affine, contrast/gamma, light noise; no blur."""
    return A.Compose([
        A.Affine(scale=tuple(aug["scale"]), translate_percent=(-aug["translate"], aug["translate"]),
                 rotate=(-aug["rotate"], aug["rotate"]), border_mode=cv2.BORDER_CONSTANT, fill=0,
                 p=aug["affine_p"]),
        A.RandomBrightnessContrast(brightness_limit=0.1, contrast_limit=0.15, p=aug["contrast_p"]),
        A.RandomGamma(gamma_limit=(85, 115), p=aug["gamma_p"]),
        A.GaussNoise(std_range=(0.01, 0.03), p=aug["noise_p"]),
    ])


def channel_values(value, channels):
    """preprocess.mean / std (one number, or one per channel) as a (C, 1, 1) tensor."""
    values = torch.tensor(value, dtype=torch.float32).reshape(-1, 1, 1)
    if values.shape[0] not in (1, channels):
        raise UserError(f"preprocess mean/std give {values.shape[0]} values for {channels} channel(s)")
    return values.expand(channels, 1, 1)


def mask_key(mask_path, image_path, prep):
    """The cache key of a mask: (mask, its image) when the image is cropped to its content, else (mask, None)."""
    return mask_path, (image_path if prep.crop != "none" else None)


class MultiViewDataset(Dataset):
    """Sample i -> (views (V x images_per_view, C, S, S), labels (T,) or empty, i) (an absent further image of a
    view: NaN; normalised by preprocess mean/std, or in [0, 1] with ``normalize`` False); with ``mask_is_target``
    (a task that learns masks) -> (image (C, S, S), masks (M, S, S), i), or (image, (masks, labels), i) when it
    has labels too, or (image, its content box (4,), i) with ``with_box`` (to put a predicted map back onto the
    image)."""

    def __init__(self, samples, indices, cfg, train=False, seed=0, cache_dir=None, mask_is_target=False,
                 with_box=False, normalize=True):
        self.paths = [samples.paths[i] for i in indices]
        self.labels = None if samples.labels is None else samples.labels[indices]
        self.mask_mode = mask_modes.check(cfg["model"]["mask_mode"])
        prep = Prep.of(cfg)
        self.size = prep.size
        self.prep = mask_modes.load_prep(prep, self.mask_mode)              # what views are loaded (cached) at
        self.margin = float(cfg["preprocess"]["mask_margin"])
        self.mean, self.std = (channel_values(cfg["preprocess"][k], self.prep.channels) for k in ("mean", "std"))
        if not normalize:             # test time: the views in [0, 1], each fold normalises (forward.Normalized)
            self.mean, self.std = torch.zeros_like(self.mean), torch.ones_like(self.std)
        self.train = train
        self.seed = seed
        self.augment = build_augment(cfg["augment"]) if train else None
        self.mirror_p = float(cfg["augment"]["mirror_p"]) if train else 0.0
        self.mirror = C.mirror_permutations(cfg)
        self.masks = None if samples.mask_paths is None else [samples.mask_paths[i] for i in indices]
        self.mask_is_target = mask_is_target
        if self.mask_mode != "none" and self.masks is None and not mask_is_target:
            raise UserError(f"model.mask_mode {self.mask_mode} reads a mask per image: the config needs data.mask_dir")
        self.with_box = with_box
        self.per_view = int(cfg["data"]["images_per_view"])     # paths hold this many entries per view
        self._warned = set()
        self.cache = ViewCache(cache_dir, self.prep) if cache_dir else None

    def __len__(self):
        return len(self.paths)

    def sample_bytes(self):
        """The bytes of one sample's float32 tensors: its views (with a mask channel) and learned masks."""
        views = len(self.paths[0]) if self.paths else 1
        channels = self.prep.channels + (self.mask_mode == "channel" or mask_modes.pools_under_mask(self.mask_mode))
        masks = len(self.masks[0]) if self.masks and self.mask_is_target and not self.with_box else 0
        return 4 * self.size * self.size * (views * channels + masks)

    def _view(self, path):
        """(prepared view, its content box; None when it came from the cache)."""
        if self.cache is not None and path is not None:
            img = self.cache.get(path)
            if img is not None:
                return img, None
        img, box, problem = load_view(path, self.prep)
        if problem == "unreadable" and path not in self._warned:
            self._warned.add(path)
            log.warning("unreadable image used as a blank view: %s", path)
        return img, box

    def _masks(self, i, box):
        """The sample's masks as uint8 0/255 (S, S, M) at the input size, or None for a task without masks.
        A mask that is absent is empty for a task that learns masks, and the whole image for one that reads
        them (no lung mask: the whole image). ``box``: the image's content box when known (else found)."""
        if self.masks is None:
            return None
        out = []
        for path in self.masks[i]:
            mask = None
            if path is not None:
                key = mask_key(path, self.paths[i][0], self.prep)
                mask = self.cache.get(*key) if self.cache is not None else None
                if mask is None:
                    mask = load_mask(*key, self.prep, box)
            if mask is None:
                mask = np.full((self.prep.size,) * 2, 0 if self.mask_is_target else 255, np.uint8)
            out.append(np.where(covered(mask), ON, 0).astype(np.uint8))
        return np.stack(out, axis=-1)

    def _swapped(self, i, epoch, view, mask):
        """The view with its surroundings from another sample of this set, drawn per (seed, epoch, sample)."""
        j = int(np.random.default_rng([self.seed, epoch, i, 1]).integers(len(self) - 1))
        j += j >= i
        other, box = self._view(self.paths[j][0])
        return mask_modes.swap_background(view, mask, other, self._masks(j, box), self.margin)

    def __getitem__(self, item):
        i, epoch = item if isinstance(item, tuple) else (item, 0)        # (index, epoch) from EpochSampler
        views, boxes = zip(*(self._view(p) for p in self.paths[i]))
        views = list(views)
        mask = self._masks(i, boxes[0])
        label = None if self.labels is None else self.labels[i].copy()
        if self.mask_mode == "crop":                     # cut the mask's box out of the larger view
            views[0], mask = mask_modes.crop_to_mask(views[0], mask, self.size, self.margin)
        if self.train and self.mask_mode == "swap" and len(self) > 1:
            views[0] = self._swapped(i, epoch, views[0], mask)
        if self.train:
            rng = np.random.default_rng([self.seed, epoch, i])
            seeds = rng.integers(0, 2**31 - 1, size=len(views))
            for v, s in enumerate(seeds):
                self.augment.set_random_seed(int(s))
                if mask is not None:                      # image+mask tasks have one view: same transform
                    out = self.augment(image=views[v], mask=mask)
                    views[v], mask = out["image"], out["mask"]
                else:
                    views[v] = self.augment(image=views[v])["image"]
            if self.mirror is not None and rng.random() < self.mirror_p:
                vperm, tperm = self.mirror
                vperm = [v * self.per_view + j for v in vperm for j in range(self.per_view)]
                views = [np.ascontiguousarray(views[j][:, ::-1]) for j in vperm]
                label = label[tperm]
        x = torch.from_numpy(np.stack(views)).float()
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)          # (V, C, S, S)
        x = (x / 255.0 - self.mean) / self.std
        if self.per_view > 1:                 # an absent further image of a view: NaN, left out by the network
            absent = [j for j, path in enumerate(self.paths[i]) if path is None and j % self.per_view]
            x[absent] = float("nan")
        y = torch.zeros(0) if label is None else torch.from_numpy(label)
        if self.with_box:
            box = boxes[0] if boxes[0] is not None else view_box(self.paths[i][0], self.prep)   # None: cached
            return x[0], torch.tensor(box, dtype=torch.float64), i
        if mask is not None:
            m = torch.from_numpy(covered(np.ascontiguousarray(mask.reshape(self.size, self.size, -1))))
            m = m.permute(2, 0, 1).float()                                     # (M, S, S)
            if self.mask_is_target:
                return x[0], (m if label is None else (m, y)), i
            x = mask_modes.apply(x, m[None, :1], self.mask_mode, -self.mean / self.std, self.margin)
        return x, y, i
