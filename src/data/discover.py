"""Finding the samples of a data folder: the CSV, the image of every view, and a short report."""
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..utilities import config as C
from ..utilities.errors import UserError
from ..readers.formats import image_extensions, looks_like_image
from ..tasks import kind_of
from ..readers.tables import read_table

log = logging.getLogger("harness")


@dataclass
class Samples:
    ids: list                      # id strings, in CSV order
    paths: list                    # per sample, one Path or None per view
    frame: pd.DataFrame            # the CSV as read (id column as text), or a frame built from the files
    labels: np.ndarray = None      # (n, n_targets) float32 for training data; NaN where a cell is not a number
    csv_path: Path = None
    missing: dict = field(default_factory=dict)   # id -> [views without a usable file]
    unreadable: list = field(default_factory=list)  # files that are not JPEG/PNG (used as blank views)
    mask_paths: list = None                        # image+mask tasks: per sample a list of mask Paths (or None),
                                                   # one per mask folder (mask_folders)
    mask_folders: list = field(default_factory=list)   # the mask folders looked in (absent ones included)
    root: Path = None                              # the folder the CSV (or the images) were found in
    index: dict = field(default_factory=dict)      # lower-case stem -> image path, every image found
    stray: list = field(default_factory=list)      # non-image files beside the images


def _subdirs(path):
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def find_root(data_dir, csv_name):
    """The folder holding ``csv_name``: data_dir itself or one level down (``test_set/test_set/``)."""
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise UserError(f"data folder not found: {data_dir}")
    for cand in [data_dir] + _subdirs(data_dir):
        if (cand / csv_name).is_file():
            return cand, cand / csv_name
    return data_dir, None


def index_images(root, extensions, csv_names=()):
    """(lower-case stem -> path for every image in root and one folder below, shallower first;
    other files found there, the CSVs and hidden files excepted)."""
    exts = {e.lower() for e in extensions}
    found, stray = {}, []
    for folder in [root] + _subdirs(root):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.is_file() or entry.name.startswith("."):
                continue
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() in exts:
                found.setdefault(stem.lower(), Path(entry.path))
            elif entry.name not in csv_names:
                stray.append(Path(entry.path))
    return found, stray


def stem_ids(index, cfg):
    """{file stem: sample id} for the stems that are named like the config's file_pattern for some view."""
    pattern, out = cfg["data"]["file_pattern"], {}
    for view in C.views(cfg):
        prefix, _, suffix = pattern.format(id="\0", view=view).lower().partition("\0")
        for stem in index:
            if stem.startswith(prefix) and stem.endswith(suffix) and len(stem) > len(prefix) + len(suffix):
                out[stem] = stem[len(prefix):len(stem) - len(suffix)]
    return out


def ids_from_files(index, cfg):
    """Sample ids recovered from file names when there is no CSV, in numeric-then-text order."""
    return sorted(set(stem_ids(index, cfg).values()), key=lambda s: (0, int(s), s) if s.isdigit() else (1, 0, s))


def read_csv(path, id_col):
    """The train.csv / test.csv table through the one CSV reader (any spreadsheet's encoding and separator; ids
    as text; rows without an id dropped with a warning). UserError for a file that is no table."""
    return read_table(path, id_col)


def discover(data_dir, cfg, split):
    """Samples of a train or test folder. ``split`` is 'train' (CSV and labels required) or 'test'."""
    d = cfg["data"]
    id_col = d["id_column"]
    csv_name = d["train_csv"] if split == "train" else d["test_csv"]
    root, csv_path = find_root(data_dir, csv_name)
    exts = image_extensions(cfg)
    image_root = root / d["image_dir"] if d["image_dir"] else root
    index, stray = index_images(image_root, exts, (d["train_csv"], d["test_csv"]))
    if csv_path is None:
        if split == "train":
            raise UserError(f"no {csv_name} in {data_dir} (nor one folder below); training needs the labels")
        ids = ids_from_files(index, cfg)
        if not ids:
            raise UserError(f"no {csv_name} and no images named like '{d['file_pattern']}' in {data_dir}")
        log.warning("no %s in %s: predicting for %d ids found in the file names, sorted", csv_name, data_dir, len(ids))
        frame = pd.DataFrame({id_col: ids})
    else:
        frame = read_csv(csv_path, id_col)
        ids = frame[id_col].tolist()
        if not ids:
            raise UserError(f"{csv_path} has no rows")

    paths, missing, unreadable = [], {}, []
    for sid in ids:
        row = []
        for view in C.views(cfg):
            p = index.get(d["file_pattern"].format(id=sid, view=view).lower())
            if p is not None and not looks_like_image(p):
                unreadable.append(p)
                p = None
            row.append(p)
            if p is None:
                missing.setdefault(sid, []).append(view)
        paths.append(row)

    mask_paths, folders = None, []
    if d["mask_dir"]:
        folders = mask_folders(root, cfg)
        found = [index_images(f, exts)[0] if f.is_dir() else {} for f in folders]
        mask_paths = [[masks.get(str(sid).lower()) for masks in found] for sid in ids]
    labels = kind_of(cfg).read_labels(frame, csv_path) if split == "train" else None
    return Samples(ids, paths, frame, labels, csv_path, missing, unreadable, mask_paths, root=root, index=index,
                   stray=stray, mask_folders=folders)


def mask_folders(root, cfg):
    """Where a folder's masks are: mask_dir itself, or with data.mask_subdirs one folder under it per target
    column (masks/MA/, masks/HE/ ...)."""
    base = root / cfg["data"]["mask_dir"]
    return [base / c for c in C.target_columns(cfg)] if cfg["data"]["mask_subdirs"] else [base]
