"""A user's file as text: the encodings people's tools write (UTF-8 with or without a byte-order mark, UTF-16,
Korean cp949 / EUC-KR, Western cp1252, latin-1), told by the byte-order mark, by NUL bytes, by UTF-8's own
rules, and among the legacy ones by a detector; a file that is no text (an Excel workbook, a PDF, an image) named
in one plain line."""
import codecs
import unicodedata

from ..utilities.errors import UserError

SIGNATURES = ((b"PK\x03\x04", "a zip archive (an Excel .xlsx or OpenDocument spreadsheet renamed .csv?)"),
              (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls (or other Office) document"),
              (b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
              (b"\x1f\x8b", "a gzip archive"), (b"PAR1", "a Parquet file"))
BOMS = ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with a byte-order mark"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"))
LEGACY = {"cp949": "Korean cp949 / EUC-KR", "cp1252": "Western cp1252", "latin_1": "latin-1"}


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
    """(text, codec, name for people) of the bytes of a CSV file; a UserError naming what it is otherwise.

    A byte-order mark decides; else UTF-16 told by its NUL bytes; else UTF-8 when the bytes are UTF-8; else the
    legacy encoding (LEGACY) that charset-normalizer (a well-kept detector, MIT) finds most coherent, never the
    first that merely decodes: a Western export is not read as Korean."""
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
            tries = [("utf-8", "UTF-8")] + detected(data)
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


def detected(data):
    """[(codec, name)] of the legacy encodings the bytes may be in, the most coherent first (charset-normalizer
    limited to LEGACY)."""
    from charset_normalizer import from_bytes

    found = [m.encoding for m in from_bytes(data, cp_isolation=list(LEGACY))]
    return [(c, LEGACY[c]) for c in found if c in LEGACY] or [(c, n) for c, n in LEGACY.items()][-1:]
