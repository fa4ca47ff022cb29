"""The data check's look at the values stored in a folder's mask files: which values occur, and how the one rule
of readers/masks.py reads them (empty masks, smoothed or JPEG masks that need data.mask_threshold)."""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..readers.masks import decode_values, threshold_of

SMOOTH = 16               # more distinct values than this in one file: smoothed or JPEG 0/255, not labels


def _survey(path, threshold):
    """(sorted distinct values, any foreground) of one mask file, or None when undecodable."""
    values = decode_values(path)
    if values is None:
        return None
    found = np.flatnonzero(np.bincount(values.ravel())) if values.dtype == np.uint8 else np.unique(values)
    return found.tolist(), bool(found.size and found[-1] > threshold)


def value_problems(samples, cfg, learns):
    """[(severity, what, items)] about the values of every mask file of ``samples``: a note naming the values
    found and how they are read; an error (``learns``: training a task that learns masks) or a warning when
    every mask is empty by that rule; warnings for empty masks and for masks that look smoothed."""
    threshold = threshold_of(cfg)
    paths = sorted({p for row in samples.mask_paths for p in row if p is not None}, key=str)
    if not paths:
        return []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        surveys = dict(zip(paths, pool.map(lambda p: _survey(p, threshold), paths)))
    read_ok = {p: s for p, s in surveys.items() if s is not None}
    values = sorted({v for found, _ in read_ok.values() for v in found})
    rule = "non-zero" if threshold == 0 else f"above {threshold}"
    out = [("note", f"masks: values found in {len(read_ok)} files, {rule} read as foreground "
                    f"(data.mask_threshold: {threshold})", values)]
    empty = [p.name for p, (_, fg) in read_ok.items() if not fg]
    if read_ok and len(empty) == len(read_ok):
        out.append(("error" if learns else "warning", f"every mask is empty: no value {rule} (data.mask_threshold: "
                    f"{threshold}); a score on empty masks means nothing", empty))
    elif empty:
        out.append(("warning", f"masks with no value {rule} (read as empty)", empty))
    unreadable = [p.name for p, s in surveys.items() if s is None]
    if unreadable:
        out.append(("warning", "mask files that cannot be decoded (read as no mask)", unreadable))
    smooth = [p.name for p, (found, _) in read_ok.items() if len(found) > SMOOTH]
    if smooth and threshold == 0:
        out.append(("warning", f"masks with more than {SMOOTH} distinct values (smoothed or JPEG 0/255?): every "
                    "non-zero pixel is foreground; set data.mask_threshold: 127 in the YAML if they are", smooth))
    return out
