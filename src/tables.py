"""Reading prediction and truth tables for scoring: one clear line for every way a CSV can be wrong."""
import numpy as np
import pandas as pd

from . import table_io
from .errors import UserError


def read_table(path, what, id_col):
    """A truth or prediction table through the one CSV reader (table_io.read_table), ``id_col`` as text.

    The truth may come from any spreadsheet (encodings, ';' and decimal commas, blank rows: all read). A
    prediction ("prediction") must be what the organizers' scorer reads with plain pandas: comma-separated
    UTF-8 without blank rows, or a UserError says why not. A table with a header but no rows is refused too."""
    df = table_io.read_table(path, id_col, f"{what} file", exact=what == "prediction")
    if df.empty:
        raise UserError(f"{what} file {path} has a header but no rows")
    return df


def numeric(df, cols, path, what):
    values = df[cols].apply(pd.to_numeric, errors="coerce")
    nan = values.isna().to_numpy()
    if nan.any():
        r, c = np.argwhere(nan)[0]
        raise UserError(f"{what} {path}: {int(nan.sum())} empty or non-numeric cells, first at row {r + 2} "
                        f"column {cols[c]} ('{df[cols[c]].iloc[r]}')")
    arr = values.to_numpy(float)
    if (arr < 0).any() or (arr > 1).any():
        raise UserError(f"{what} {path}: values outside [0, 1]")
    return arr


def check_columns(df, expected, path, what):
    missing = [c for c in expected if c not in df.columns]
    extra = [c for c in df.columns if c not in expected]
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
        raise UserError(f"{what} {path}: {'; '.join(parts)} (expected: {', '.join(expected)})")
