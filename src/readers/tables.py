"""The one reader of every CSV a user hands in (train.csv, test.csv, truth and prediction tables).

It reads what people's tools write, in any encoding text.py tells (UTF-8, UTF-16, Korean cp949, Western
cp1252, latin-1), separated by ',', ';', tab or '|' (a ';' table may hold decimal commas, judged column by
column). A format other than plain UTF-8 with commas is said in one line, a guessed legacy encoding in a warning
that shows the first ids it gave. Ids stay text exactly as written (leading zeros kept, surrounding spaces
removed); rows without an id (the blank rows a spreadsheet export ends with) are not samples and are dropped with
one warning. A file that is no table at all (empty, binary, an Excel workbook renamed .csv) is named in one plain
line (UserError)."""
import csv
import io
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..utilities.errors import UserError
from .text import LEGACY, decode, named, unreadable

log = logging.getLogger("harness")

SEPARATORS = (",", "\t", ";", "|")                     # tried in this order; the first that fits the table wins
SEP_NAMES = {",": "comma", "\t": "tab", ";": "';'", "|": "'|'"}
# what pandas' default reader (the organizers' scorer) reads as a missing value: an id spelled so is no id
MISSING = frozenset(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"])
DECIMAL_COMMA = re.compile(r"^\s*[+-]?(\d+,\d*|,\d+|\d+)([eE][+-]?\d+)?\s*$")
PLAIN = ("UTF-8", ",")


def separator(text):
    """The field separator of a CSV text: of SEPARATORS, the one that splits the header into the most fields (2+)
    and (nearly) every line of the start into as many; earlier in SEPARATORS on a tie; ',' for one column."""
    lines = [line for line in text.splitlines()[:200] if line.strip()]
    fits = []
    for i, sep in enumerate(SEPARATORS):
        rows = list(csv.reader(lines, delimiter=sep))
        if len(rows[0]) >= 2:
            fit = sum(len(r) == len(rows[0]) for r in rows) / len(rows)
            fits.append((fit >= 0.9, len(rows[0]) if fit >= 0.9 else fit, -i, sep))
    return max(fits)[-1] if fits else ","


def decimal_comma_columns(frame, id_col, text=()):
    """The columns (not the id's, not the ``text`` ones) whose every cell is a number written with a decimal
    comma ('0,25'; some cell holds the comma), each judged on its own."""
    out = []
    for c in frame.columns:
        if c == id_col or c in text or frame[c].dtype != object:
            continue
        cells = frame[c].dropna().astype(str)
        if len(cells) and cells.str.contains(",").any() and cells.str.match(DECIMAL_COMMA).all():
            out.append(c)
    return out


def read_table(path, id_col, what="", exact=False, text=()):
    """The table of the CSV file ``path`` as a DataFrame: ``id_col`` and the ``text`` columns (those of them it
    has) as stripped text (their cells never parsed as numbers), other cells as pandas infers them, empty cells
    NaN (other missing-value spellings such as 'NA' stay text); rows without an id dropped. ``what`` names the
    file in messages ("ground-truth file").

    exact: the file is read by others with plain ``pd.read_csv`` (the organizers' scorer reading a prediction):
    refuse what that would read differently (another encoding or separator, rows without an id) instead of
    mending it. Raises UserError (one line) for a missing, unreadable or id-less file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{what or 'file'} not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{named(what, path)} is a folder, not a CSV file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    content, codec, name = decode(data, path, what)
    sep = separator(content)
    if exact and (codec not in ("utf-8", "utf-8-sig") or sep != ","):
        raise UserError(f"{named(what, path)} is not comma-separated UTF-8 (it is {name}, {SEP_NAMES[sep]}-separated)"
                        ": the organizers' scorer reads it with plain pandas.read_csv and would fail")
    frame = parse(content, sep, id_col, path, what, text)
    commas = decimal_comma_columns(frame, id_col, text) if sep != "," else []
    for c in commas:                                 # per column: a column of '1,5' is numbers, others stay
        frame[c] = pd.to_numeric(frame[c].str.strip().str.replace(",", ".", regex=False))
    frame = drop_blank(frame, id_col, path, what, exact)
    if (name, SEP_NAMES[sep]) != ("UTF-8", "comma"):
        said = (f"{path.name}: read as {name}, {SEP_NAMES[sep]}-separated"
                + (f", decimal commas in {', '.join(map(str, commas))}" if commas else ""))
        if codec in LEGACY:                          # a guess among encodings: show what it made of the ids
            log.warning("%s (ids: %s); if these look wrong, save the file as CSV UTF-8", said,
                        ", ".join(frame[id_col].astype(str).head(3)))
        else:
            log.info("%s", said)
    return frame


def parse(content, sep, id_col, path, what, text=()):
    """The DataFrame of a decoded CSV text; column names stripped, ``id_col`` and ``text`` columns as text, a
    UserError for a malformed table."""
    try:
        frame = pd.read_csv(io.StringIO(content), sep=sep, dtype={c: str for c in (id_col, *text)},
                            keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise unreadable(path, what, str(exc).splitlines()[0][:200]) from None
    frame.columns = [c.strip() if isinstance(c, str) else c for c in frame.columns]
    for c in text:
        if c in frame.columns and c != id_col:
            frame[c] = frame[c].str.strip()
    if id_col not in frame.columns:
        raise UserError(f"{named(what, path)} has no '{id_col}' column (columns: "
                        f"{', '.join(map(str, frame.columns))[:300]})")
    return frame


def text(value):
    """A table cell as template text: '' for an empty cell, an integer-valued float without '.0'."""
    if value is None or value != value:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def blank_ids(ids):
    """Boolean array: which of ``ids`` (a pandas Series) is no id at all (missing, empty or a missing-value
    spelling such as 'nan', as pandas' default reader would read it)."""
    return ids.fillna("").astype(str).str.strip().isin(MISSING).to_numpy()


def drop_blank(frame, id_col, path, what, exact):
    """``frame`` without rows whose id is empty or a missing-value spelling, and without unnamed empty columns
    (a spreadsheet's trailing ',,,'); one warning says which rows went (exact: a UserError for such rows, and
    the columns are left for the caller to judge)."""
    ids = frame[id_col].fillna("").astype(str).str.strip()
    blank = blank_ids(frame[id_col])
    if not exact:
        frame = frame.drop(columns=[c for c in frame.columns
                                    if str(c).startswith("Unnamed: ") and frame[c].isna().all()])
    if blank.any():
        rows = [i + 1 for i in blank.nonzero()[0]]
        shown = ", ".join(map(str, rows[:8])) + (" ..." if len(rows) > 8 else "")
        if exact:
            raise UserError(f"{named(what, path)}: {len(rows)} row(s) without an {id_col} (data rows {shown} of "
                            f"{len(frame)}): the organizers' scorer counts them as rows; delete them")
        log.warning("%s: %d row(s) without an %s are not samples and are skipped (data rows %s of %d; blank rows "
                    "of a spreadsheet export?)", path.name, len(rows), id_col, shown, len(frame))
    frame = frame.loc[~blank].reset_index(drop=True)
    frame[id_col] = ids[~blank].tolist()
    return frame


# ---- the truth and prediction tables a score is computed from (evaluate.py) ---------------------------------
def read_scoring_table(path, what, id_col):
    """A truth or prediction table through read_table above, ``id_col`` as text.

    The truth may come from any spreadsheet (encodings, ';' and decimal commas, blank rows: all read). A
    prediction ("prediction") must be what the organizers' scorer reads with plain pandas: comma-separated
    UTF-8 without blank rows, or a UserError says why not. A table with a header but no rows is refused too."""
    df = read_table(path, id_col, f"{what} file", exact=what == "prediction")
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


def check_columns(df, expected, path, what, extra_ok=False):
    """A UserError when ``df`` lacks a column of ``expected`` or holds another one; with ``extra_ok`` (a ground
    truth that carries more than the task scores) the others are named in a note and left alone."""
    missing = [c for c in expected if c not in df.columns]
    extra = [c for c in df.columns if c not in expected]
    if extra and extra_ok and not missing:
        log.info("%s %s: columns not scored (not outputs of this task): %s", what, path, ", ".join(map(str, extra)))
        return
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
        raise UserError(f"{what} {path}: {'; '.join(parts)} (expected: {', '.join(expected)})")
