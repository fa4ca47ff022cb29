"""Finding the samples of a data folder: the table, the images of every view, the labels (as the task's kind
reads them), the groups for the folds and, for a test folder, the order of the output rows."""
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..readers.formats import image_extensions, looks_like_image
from ..readers.tables import read_table
from ..tasks import kind_of
from ..utilities import config as C
from ..utilities.errors import UserError
from . import long_table
from . import templates as T
from .files import FileFinder, find_root, index_images

LAYOUTS = ("wide", "long")

log = logging.getLogger("harness")


@dataclass
class Samples:
    ids: list                      # id strings, in CSV order
    paths: list                    # per sample, per view images_per_view entries: a Path or None
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
    groups: list = None                            # per sample its group (data.group, e.g. the patient), or None
    order: list = None                             # the ids of the output rows in order (a sample submission's)
    notes: list = field(default_factory=list)      # (severity, what, items) said while reading the table
    images_per_view: int = 1                       # paths hold this many entries per view (None: fewer images)


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


def read_csv(path, id_col, text=()):
    """The train.csv / test.csv table through the one CSV reader (any spreadsheet's encoding and separator; ids
    and the ``text`` columns as text; rows without an id dropped with a warning). UserError for a file that is
    no table."""
    return read_table(path, id_col, text=text)


def discover(data_dir, cfg, split):
    """Samples of a train or test folder. ``split`` is 'train' (CSV and labels required) or 'test'. The table is
    wide (one row per sample) or long (one row per image: long_table.py), as ``data.layout`` says."""
    d = cfg["data"]
    csv_name = d["train_csv"] if split == "train" else d["test_csv"]
    root, csv_path = find_root(data_dir, csv_name)
    kind = kind_of(cfg)
    if d["layout"] not in LAYOUTS:
        raise UserError(f"data.layout must be one of {', '.join(LAYOUTS)}, not '{d['layout']}'")
    if csv_path is None and (split == "train" or d["layout"] == "long"):
        raise UserError(f"no {csv_name} in {data_dir} (nor one folder below); "
                        + ("training needs the labels" if split == "train" else "it lists the images"))
    if d["layout"] == "long":
        text = long_table.template_columns(cfg)
        frame = read_csv(csv_path, text[0], text)
        got = long_table.samples_of(frame, cfg, split, root, csv_path, kind.label_columns())
        frame = got.frame.rename(columns={"_sample": d["id_column"]}) if d["id_column"] not in got.frame else \
            got.frame.assign(**{d["id_column"]: got.frame["_sample"]}).drop(columns="_sample")
        samples = Samples(got.ids, got.paths, frame, csv_path=csv_path, root=root, notes=got.notes)
    else:
        samples = wide(data_dir, cfg, split, root, csv_path)
    if not samples.ids:
        raise UserError(f"{csv_path} has no rows")
    samples.images_per_view = int(d["images_per_view"])
    samples.missing = missing_views(samples, cfg)
    shared_files(samples, cfg)
    if d["group"]:
        samples.groups = [T.fill(d["group"], r) for r in samples.frame.to_dict("records")]
    if d["mask_dir"]:
        samples.mask_folders = mask_folders(root, cfg)
        found = [index_images(f, image_extensions(cfg))[0] if f.is_dir() else {} for f in samples.mask_folders]
        samples.mask_paths = [[masks.get(str(sid).lower()) for masks in found] for sid in samples.ids]
    if split == "train":
        samples.labels = kind.read_labels(samples.frame, csv_path)
    elif cfg["output"]["sample_submission"]:
        follow_submission(samples, cfg, kind.cols)
    return samples


def wide(data_dir, cfg, split, root, csv_path):
    """Samples of a table with one row per sample (or, for a test folder without one, of the file names): every
    view's file is ``file_pattern`` with {id} and {view} filled in, a stem in the folder or one below (a pattern
    with '/' names subfolders: '{id}/{view}'), any case and image extension."""
    d = cfg["data"]
    id_col, pattern = d["id_column"], d["file_pattern"]
    exts = image_extensions(cfg)
    image_root = root / d["image_dir"] if d["image_dir"] else root
    index, stray = index_images(image_root, exts, (d["train_csv"], d["test_csv"]))
    if csv_path is None:
        ids = ids_from_files(index, cfg)
        if not ids:
            raise UserError(f"no {d['test_csv']} and no images named like '{pattern}' in {data_dir}")
        log.warning("no %s in %s: predicting for %d ids found in the file names, sorted", d["test_csv"], data_dir,
                    len(ids))
        frame = pd.DataFrame({id_col: ids})
    else:
        key = T.fields(d["sample_id"])[0] if d["sample_id"] else id_col
        frame = read_csv(csv_path, key, [f for f in T.fields(d["sample_id"]) + T.fields(d["group"]) if f != key])
        if d["sample_id"]:
            T.check_columns(d["sample_id"], frame.columns, "data.sample_id", csv_path)
            frame[id_col] = [T.fill(d["sample_id"], r) for r in frame.to_dict("records")]
        ids = frame[id_col].tolist()
    finder = FileFinder(image_root, exts) if "/" in pattern else None
    paths, unreadable, k = [], [], int(d["images_per_view"])
    for sid in ids:
        row = []
        for view in C.views(cfg):
            name = pattern.format(id=sid, view=view)
            p = finder.find(name) if finder else index.get(name.lower())
            if p is not None and not looks_like_image(p):
                unreadable.append(p)
                p = None
            row += [p] + [None] * (k - 1)
        paths.append(row)
    return Samples(ids, paths, frame, csv_path=csv_path, unreadable=unreadable, root=root, index=index,
                   stray=stray)


def missing_views(samples, cfg):
    """{id: [views with no usable file]} (a view slot of several images is missing when it holds none)."""
    k, views, out = samples.images_per_view, C.views(cfg), {}
    for sid, row in zip(samples.ids, samples.paths):
        gone = [v for j, v in enumerate(views) if all(p is None for p in row[j * k:(j + 1) * k])]
        if gone:
            out.setdefault(sid, []).extend(gone)
    return out


def shared_files(samples, cfg):
    """A UserError when one file is the image of two samples (or two views of one): a pattern or table that
    maps different samples to the same file is wrong, never a silent success."""
    seen, k, views = {}, samples.images_per_view, C.views(cfg)
    for i, row in enumerate(samples.paths):
        for j, p in enumerate(row):
            if p is None:
                continue
            if str(p) in seen and samples.ids[seen[str(p)][0]] != samples.ids[i]:   # duplicate rows: the check's
                a = seen[str(p)]
                whom = f"samples {samples.ids[a[0]]} and {samples.ids[i]}" if a[0] != i else \
                    f"views {views[a[1] // k]} and {views[j // k]} of sample {samples.ids[i]}"
                how = f"the table names {Path(p).name} for {whom}" if cfg["data"]["layout"] == "long" else \
                    (f"data.file_pattern '{cfg['data']['file_pattern']}' gives the same file {Path(p).name} to "
                     f"{whom}")
                raise UserError(f"{how}: every sample needs images of its own (the pattern needs {{id}}; "
                                "docs/CONFIG.md, data.file_pattern)")
            seen[str(p)] = (i, j)


def follow_submission(samples, cfg, cols):
    """The test rows in the order of the competition's sample submission (``output.sample_submission`` in the
    test folder), whose columns must be the task's; an id it lists that the test table lacks becomes a sample
    without images (predicted from blank views), one it lacks is not written; each with a warning."""
    d, name = cfg["data"], cfg["output"]["sample_submission"]
    path = samples.root / name
    if not path.is_file():
        log.warning("no %s in %s: the output rows follow %s (first appearance)", name, samples.root, d["test_csv"])
        return
    table = read_table(path, d["id_column"], "sample submission")
    want = [d["id_column"]] + list(cols)
    if list(table.columns) != want:
        raise UserError(f"{path} has the columns {', '.join(map(str, table.columns))}; this task writes "
                        f"{', '.join(want)} (check targets.columns and data.id_column)")
    order, known = table[d["id_column"]].tolist(), set(samples.ids)
    extra = [s for s in order if s not in known]
    left = [s for s in samples.ids if s not in set(order)]
    if extra:
        log.warning("%s lists %d id(s) without images in %s (predicted from blank views): %s", name, len(extra),
                    d["test_csv"], ", ".join(extra[:8]))
        n = len(C.views(cfg)) * samples.images_per_view
        samples.ids += extra
        samples.paths += [[None] * n for _ in extra]
        samples.frame = pd.concat([samples.frame, pd.DataFrame({d["id_column"]: extra})], ignore_index=True)
        samples.missing.update({s: list(C.views(cfg)) for s in extra})
        if samples.groups is not None:
            samples.groups += extra
        if samples.mask_paths is not None:
            samples.mask_paths += [[None] * len(samples.mask_folders) for _ in extra]
    if left:
        log.warning("%d sample(s) of %s are not in %s and are not written: %s", len(left), d["test_csv"], name,
                    ", ".join(left[:8]))
    samples.order = order


def mask_folders(root, cfg):
    """Where a folder's masks are: mask_dir itself, or with data.mask_subdirs one folder under it per target
    column (masks/MA/, masks/HE/ ...)."""
    base = root / cfg["data"]["mask_dir"]
    return [base / c for c in C.target_columns(cfg)] if cfg["data"]["mask_subdirs"] else [base]
