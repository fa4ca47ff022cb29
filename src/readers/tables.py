"""The one reader of every CSV a user hands in (train.csv, test.csv, truth and prediction tables).

It reads what people's tools write: UTF-8 with or without a byte-order mark, UTF-16 ("Unicode text" of a
spreadsheet, tab-separated), Korean cp949 / EUC-KR, and as a last resort Western cp1252 / latin-1; separated by
',', ';', tab or '|' (a ';' table may hold decimal commas). A format other than plain UTF-8 with commas is said
in one line. Ids stay text exactly as written (leading zeros kept, surrounding spaces removed); rows without an
id (the blank rows a spreadsheet export ends with) are not samples and are dropped with one warning. A file that
is no table at all (empty, binary, an Excel workbook renamed .csv) is named in one plain line (UserError)."""
import codecs
import csv
import io
import logging
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from ..utilities.errors import UserError

log = logging.getLogger("harness")

SEPARATORS = (",", "\t", ";", "|")                     # tried in this order; the first that fits the table wins
SEP_NAMES = {",": "comma", "\t": "tab", ";": "';'", "|": "'|'"}
# what pandas' default reader (the organizers' scorer) reads as a missing value: an id spelled so is no id
MISSING = frozenset(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"])
SIGNATURES = ((b"PK\x03\x04", "a zip archive (an Excel .xlsx or OpenDocument spreadsheet renamed .csv?)"),
              (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls (or other Office) document"),
              (b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
              (b"\x1f\x8b", "a gzip archive"), (b"PAR1", "a Parquet file"))
BOMS = ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with a byte-order mark"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"))
DECIMAL_COMMA = re.compile(r"^\s*[+-]?(\d+,\d*|,\d+|\d+)([eE][+-]?\d+)?\s*$")
PLAIN = ("UTF-8", ",")


def named(what, path):
    """How messages name a file: 'prediction file output.csv', or the bare path when ``what`` is empty."""
    return f"{what} {path}" if what else str(path)


def unreadable(path, what, reason):
    return UserError(f"{named(what, path)} is not a readable CSV: {reason}; save it from the spreadsheet program "
                     "as 'CSV' (comma-separated values)")


def looks_like_text(text):
    """True unless control characters (other than tab, CR, LF, form feed) make up more than 1% of ``text``."""
    bad = sum(unicodedata.category(ch) == "Cc" and ch not in "\t\r\n\f" for ch in text[:65536])
    return bad <= 0.01 * min(len(text), 65536)


def utf16_without_bom(data):
    """'utf-16-le' / 'utf-16-be' when every other byte of the start is NUL (ASCII text in UTF-16), else None."""
    head = data[:4096 - 4096 % 2]
    if len(head) < 4:
        return None
    even, odd = head[0::2].count(0) / (len(head) / 2), head[1::2].count(0) / (len(head) / 2)
    return "utf-16-le" if odd > 0.7 and even < 0.1 else "utf-16-be" if even > 0.7 and odd < 0.1 else None


def decode(data, path, what):
    """(text, codec, name for people) of the bytes of a CSV file; a UserError naming what it is otherwise."""
    if not data.strip(b" \t\r\n\x00" + codecs.BOM_UTF8 + codecs.BOM_UTF16_LE + codecs.BOM_UTF16_BE):
        raise unreadable(path, what, "the file is empty" if not data else "the file holds only blank space")
    tries = [(codec, name) for bom, codec, name in BOMS if data.startswith(bom)][:1]
    if not tries:
        for sig, name in SIGNATURES:
            if data.startswith(sig):
                raise unreadable(path, what, f"it is {name}, not text")
        wide = utf16_without_bom(data)
        if wide:
            tries = [(wide, "UTF-16 without a byte-order mark")]
        elif b"\x00" in data[:65536]:
            raise unreadable(path, what, "it is binary data, not text")
        else:
            tries = [("utf-8", "UTF-8"), ("cp949", "Korean cp949 / EUC-KR"), ("cp1252", "Western cp1252"),
                     ("latin-1", "latin-1")]
    for codec, name in tries:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if not looks_like_text(text):
            break
        return text, codec, name
    raise unreadable(path, what, f"it is binary data or text in an unknown encoding (tried {tries[0][1]}"
                                 f"{' and others' if len(tries) > 1 else ''})")


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


def has_decimal_commas(frame, id_col):
    """True when some text column other than the id holds numbers written with a decimal comma ('0,25')."""
    for c in frame.columns:
        if c == id_col or frame[c].dtype != object:
            continue
        cells = frame[c].dropna().astype(str)
        if len(cells) and cells.str.contains(",").any() and cells.str.match(DECIMAL_COMMA).all():
            return True
    return False


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
    frame, decimal = parse(content, sep, ".", id_col, path, what, text)
    if sep != "," and has_decimal_commas(frame, id_col):
        frame, decimal = parse(content, sep, ",", id_col, path, what, text)
    if (name, SEP_NAMES[sep]) != ("UTF-8", "comma"):
        log.info("%s: read as %s, %s-separated%s", path.name, name, SEP_NAMES[sep],
                 ", decimal commas" if decimal == "," else "")
    return drop_blank(frame, id_col, path, what, exact)


def parse(content, sep, decimal, id_col, path, what, text=()):
    """(DataFrame of a decoded CSV text, decimal); column names stripped, ``id_col`` and ``text`` columns as
    text, a UserError for a malformed table."""
    try:
        frame = pd.read_csv(io.StringIO(content), sep=sep, decimal=decimal, dtype={c: str for c in (id_col, *text)},
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
    return frame, decimal


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
