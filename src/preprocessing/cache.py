"""Preprocessed-view cache: every image is decoded, cropped and resized once, stored as a uint8 .npy file
(keyed by the file's identity and the preprocessing settings) and read back by every epoch and every fold.
Host memory stays flat whatever the data size: nothing is held in RAM beyond the batches in flight."""
import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..utilities.files import atomic_write
from .views import load_mask, load_view

log = logging.getLogger("harness")
VERSION = 3                      # bump when preprocessing changes so old entries are not reused (3: masks.py,
                                 # deep images' robust window, DICOM; the DICOM reading is in Prep.key())


class ViewCache:
    """Prepared views of image files (``get(image)``) and prepared masks (``get(mask, image)``: a mask is cut
    to its image's content box, so the pair is the key) under one preprocessing (views.Prep)."""

    def __init__(self, folder, prep):
        self.folder, self.prep = Path(folder), prep

    def entry(self, src, image=None):
        parts = [str(VERSION)]
        for f in (src, image):
            if f is not None:
                st = os.stat(f)
                parts += [str(Path(f).resolve()), str(st.st_size), str(st.st_mtime_ns)]
        key = hashlib.sha1("|".join(parts + [self.prep.key()]).encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, src, image=None):
        """The cached view (mask), or None when it is not cached (or the entry is unreadable)."""
        try:
            return np.load(self.entry(src, image), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, item):
        """Decode, preprocess and store one image file or (mask file, image file) pair; a file that cannot be
        decoded is not cached."""
        src, image = item if isinstance(item, tuple) else (item, None)
        try:
            target = self.entry(src, image)
        except OSError:
            return False
        if target.is_file():
            return True
        if isinstance(item, tuple):
            img = load_mask(src, image, self.prep)
        else:
            img, _, problem = load_view(src, self.prep)
            img = None if problem else img
        if img is None:
            return False
        atomic_write(target, lambda fh: np.save(fh, img, allow_pickle=False))
        return True

    def build(self, items, workers):
        """Fill the cache for image files and (mask, image) pairs in parallel (OpenCV decodes without the GIL),
        with a progress bar."""
        items = sorted({i if isinstance(i, tuple) else Path(i) for i in items if i is not None}, key=str)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            done = sum(tqdm(pool.map(self.put, items), total=len(items), desc="caching views", leave=False,
                            disable=None))
        log.info("cache: %d of %d views ready in %s (%s)", done, len(items), self.folder, self.prep)
