"""A table with one row per image (RSNA's train.csv, CheXpert's train.csv) turned into samples.

Each row names its image (``data.path_column``: a path relative to the data folder; or ``data.file_pattern``: a
template over the row's columns and ``{split}``, the extension found on disk), the sample it belongs to
(``data.sample_id``: ``"{patient_id}_{laterality}"`` a breast, ``"{Path:dir}"`` a study) and its view slot
(``data.view_from``: ``"{view}"``, ``"{Frontal/Lateral}"``; other names mapped onto the slots by
``data.view_aliases``). A slot holds up to ``data.images_per_view`` images (several are encoded and pooled by the
network); rows beyond that, and rows whose view is no slot, are left out with a warning. Samples keep the order
of their first row; a sample's other columns are its first non-empty values, its label columns the largest value
its rows hold (rows that disagree are named)."""
import logging
from dataclasses import dataclass

import pandas as pd

from ..readers.formats import image_extensions
from ..utilities import config as C
from ..utilities.errors import UserError
from . import templates as T
from .files import FileFinder

log = logging.getLogger("harness")


@dataclass
class LongRows:
    """What a long table gives: per sample its id, its image paths (views x images_per_view, None where a slot
    holds fewer), its table row, and the warnings of the reading."""
    ids: list
    paths: list
    frame: pd.DataFrame
    notes: list


def template_columns(cfg):
    """The columns the long layout's templates read (read as text)."""
    d = cfg["data"]
    out = []
    for template in (d["sample_id"], d["view_from"], d["file_pattern"], d["group"]):
        out += [f for f in T.fields(template) if f != "split" and f not in out]
    if d["path_column"] and d["path_column"] not in out:
        out.append(d["path_column"])
    return out


def check_config(cfg, where="config"):
    d = cfg["data"]
    if not d["sample_id"] or not d["view_from"]:
        raise UserError(f"{where}: data.layout long needs data.sample_id (the sample an image belongs to, e.g. "
                        "'{patient_id}_{laterality}') and data.view_from (its view, e.g. '{view}')")
    if int(d["images_per_view"]) < 1:
        raise UserError(f"{where}: data.images_per_view must be at least 1")
    unknown = sorted(set(d["view_aliases"].values()) - set(C.views(cfg)))
    if unknown:
        raise UserError(f"{where}: data.view_aliases maps onto {unknown}, which are not data.views")


def samples_of(frame, cfg, split, root, csv_path, label_columns):
    """``LongRows`` of a long table ``frame`` (read with its template columns as text) found under ``root``."""
    d = cfg["data"]
    check_config(cfg, str(csv_path))
    for what, template in (("data.sample_id", d["sample_id"]), ("data.view_from", d["view_from"]),
                           ("data.group", d["group"]), ("data.file_pattern", None if d["path_column"] else
                                                       d["file_pattern"])):
        if template:
            T.check_columns(template, frame.columns, what, csv_path)
    if d["path_column"] and d["path_column"] not in frame.columns:
        raise UserError(f"{csv_path}: data.path_column '{d['path_column']}' is not a column of the table")
    views, k = C.views(cfg), int(d["images_per_view"])
    aliases = {str(a).lower(): v for a, v in d["view_aliases"].items()} | {v.lower(): v for v in views}
    rows = frame.to_dict("records")
    sid = [T.fill(d["sample_id"], r) for r in rows]
    slot = [aliases.get(T.fill(d["view_from"], r).lower()) for r in rows]
    notes, finder, absent = [], FileFinder(root, image_extensions(cfg)), []
    other = pd.Series([T.fill(d["view_from"], r) for r, s in zip(rows, slot) if s is None])
    if len(other):
        notes.append(("warning", f"images whose view is none of {', '.join(views)} (left out; data.view_aliases "
                      "maps other names onto them)", [f"{v}: {n}" for v, n in other.value_counts().items()]))
    order, paths, too_many = {}, [], []
    for r, s, v in zip(rows, sid, slot):
        if v is None or not s:
            continue
        if s not in order:
            order[s] = len(order)
            paths.append([[] for _ in views])
        rel = T.text(r[d["path_column"]]) if d["path_column"] else T.fill(d["file_pattern"], r, split=split)
        cell = paths[order[s]][views.index(v)]
        if len(cell) >= k:
            too_many.append(f"{s}: {v}")
            continue
        found = finder.find(rel)
        cell.append(found)
        if found is None:
            absent.append(rel)
    if absent:
        notes.append(("warning", "image files the table names that are not in the folder (blank views)", absent))
    if too_many:
        notes.append(("warning", f"view slots holding more than data.images_per_view ({k}) images (the first "
                      f"{k} used)", too_many))
    ids = list(order)
    flat = [[cell[j] if j < len(cell) else None for cell in sample for j in range(k)] for sample in paths]
    frame = frame.assign(**{"_sample": sid}).loc[[s in order for s in sid]]
    return LongRows(ids, flat, sample_frame(frame, ids, label_columns, notes), notes)


def sample_frame(frame, ids, label_columns, notes):
    """One row per sample (in ``ids`` order): first non-empty values; label columns the largest value."""
    groups = frame.groupby("_sample", sort=False)
    out = groups.first().reindex(ids)
    for c in [c for c in label_columns if c in frame.columns]:
        values = pd.to_numeric(frame[c], errors="coerce")
        numeric = values.notna() | frame[c].isna()
        if not numeric.all():
            continue                                   # text labels: left for the kind to judge
        per = values.groupby(frame["_sample"], sort=False).agg(["max", "nunique"]).reindex(ids)
        out[c] = per["max"].to_numpy()
        differ = [s for s, n in zip(ids, per["nunique"]) if n > 1]
        if differ:
            notes.append(("warning", f"samples whose rows disagree on {c} (the largest value is used)", differ))
    out = out.reset_index(drop=True)
    out.insert(0, "_sample", ids)
    return out
