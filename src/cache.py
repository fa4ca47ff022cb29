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

from .images import load_view
from .io_utils import atomic_write

log = logging.getLogger("harness")
VERSION = 1                      # bump when preprocessing changes so old entries are not reused


class ViewCache:
    def __init__(self, folder, size, crop):
        self.folder, self.size, self.crop = Path(folder), int(size), bool(crop)

    def entry(self, src):
        st = os.stat(src)
        ident = f"{VERSION}|{Path(src).resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.size}|{self.crop}"
        key = hashlib.sha1(ident.encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, src):
        """The cached view, or None when it is not cached (or the entry is unreadable)."""
        try:
            return np.load(self.entry(src), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, src):
        """Decode, preprocess and store one file; a file that cannot be decoded is not cached."""
        try:
            target = self.entry(src)
        except OSError:
            return False
        if target.is_file():
            return True
        img, problem = load_view(src, self.size, self.crop)
        if problem:
            return False
        atomic_write(target, lambda fh: np.save(fh, img, allow_pickle=False))
        return True

    def build(self, paths, workers):
        """Fill the cache for ``paths`` in parallel (OpenCV decodes without the GIL), with a progress bar."""
        paths = sorted({Path(p) for p in paths if p is not None})
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            done = sum(tqdm(pool.map(self.put, paths), total=len(paths), desc="caching views", leave=False,
                            disable=None))
        log.info("cache: %d of %d views ready in %s (%d px, crop %s)", done, len(paths), self.folder, self.size,
                 self.crop)
