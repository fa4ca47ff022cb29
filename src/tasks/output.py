"""The output table test.py writes: id column + targets in config order, rows as test.csv gave them, checked
after writing (rows, order, columns, value ranges) so that a wrong file never passes silently."""
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..readers.tables import blank_ids
from ..utilities import config as C
from ..utilities.errors import UserError
from ..utilities.files import atomic_write_csv, keep_previous

log = logging.getLogger("harness")


def output_ids(samples, cfg):
    """The ids of the output rows, in order: a sample submission's when the test folder has one, else the test
    table's (test.csv order, or the sorted file ids)."""
    return list(samples.order) if getattr(samples, "order", None) is not None else \
        samples.frame[cfg["data"]["id_column"]].tolist()


def output_frame(samples, cfg, values, cols=None):
    """The table of ``values`` ({column: array over the samples}) with the id column first and ``cols`` (default:
    targets.columns) after it, one row per output id (``output_ids``)."""
    id_col, cols = cfg["data"]["id_column"], list(cols or C.target_columns(cfg))
    extra = [c for c in samples.frame.columns if c not in [id_col] + cols]
    if extra and cfg["data"]["layout"] == "wide" and not cfg["output"]["sample_submission"]:
        log.warning("test CSV columns not written to the output (the organizers' scorer counts extras as errors):"
                    " %s", ", ".join(map(str, extra)))
    ids = output_ids(samples, cfg)
    first = {}
    for i, sid in enumerate(samples.frame[id_col].tolist()):
        first.setdefault(sid, i)
    rows = np.arange(len(ids)) if getattr(samples, "order", None) is None else np.array([first[s] for s in ids])
    out = pd.DataFrame({id_col: ids})
    for c in cols:
        out[c] = np.asarray(values[c])[rows]
    return out


def output_problems(out, ids, cfg, cols=None):
    """What is wrong with an output table against the task's columns (``cols``, default targets.columns) and the
    ids it must list in order (empty list: nothing)."""
    cols = [cfg["data"]["id_column"]] + list(cols or C.target_columns(cfg))
    problems = []
    if list(out.columns) != cols:
        problems.append(f"columns {list(out.columns)[:4]}... differ from the task's {cols[:4]}...")
    if cols[0] in out.columns:
        blank = blank_ids(out[cols[0]])
        if blank.any():
            problems.append(f"{int(blank.sum())} rows without a real {cols[0]} (empty or 'nan'), first at row "
                            f"{int(blank.argmax()) + 1}")
    if len(out) != len(ids):
        problems.append(f"rows differ from test.csv: {len(out)} rows, test.csv {len(ids)}")
    elif cols[0] in out.columns and out[cols[0]].astype(str).tolist() != list(ids):
        problems.append("rows differ from test.csv's order")
    values = out[[c for c in cols[1:] if c in out.columns]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
        problems.append("values outside [0, 1]")
    return problems


def self_check(path, ids, cfg, cols=None):
    """Re-read the written file and confirm rows, order, columns and value ranges; one line."""
    back = pd.read_csv(path, dtype={cfg["data"]["id_column"]: str})
    cols = [cfg["data"]["id_column"]] + list(cols or C.target_columns(cfg))
    problems = output_problems(back, ids, cfg, cols[1:])
    if problems:
        raise UserError(f"self-check of {path} failed: {'; '.join(problems)}")
    log.info("self-check: %s | %d rows in the expected order | %d columns (%s ... %s) | values in [0, 1] | OK",
             path, len(back), len(cols), cols[0], cols[-1])


def write_checked(frame, out, samples, cfg, cols=None):
    """Write ``frame`` to ``out`` (an existing file is kept as .bak) and check it against ``cols`` (default
    targets.columns) and the output ids; out None: check the table only. Returns the frame."""
    ids = output_ids(samples, cfg)
    if out is None:
        problems = output_problems(frame, ids, cfg, cols)
        if problems:
            raise UserError(f"the predicted table is wrong: {'; '.join(problems)}")
        return frame
    out = Path(out).expanduser()
    if keep_previous(out):
        log.info("%s existed: the previous file is kept as %s.bak", out, out.name)
    atomic_write_csv(frame, out)
    self_check(out, ids, cfg, cols)
    return frame
