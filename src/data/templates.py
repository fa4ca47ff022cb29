"""Templates over a table's columns, as a task YAML writes them: ``"{patient_id}_{laterality}"`` (RSNA's
prediction id), ``"{Path:dir}"`` (CheXpert's study: the folder of an image's path), ``"{split}_images/{patient_id}/
{image_id}"`` (an image's file, ``split`` being train or test). A field is a column name (spaces and '/' allowed,
e.g. ``{Frontal/Lateral}``), optionally followed by path operations separated by ':': ``dir`` (the folder),
``name`` (the file name), ``stem`` (without its extension), ``upper``, ``lower``. Values are used as text, as
written in the table (ids are text, always)."""
import posixpath
import string

from ..readers.tables import text
from ..utilities.errors import UserError

OPS = {"dir": posixpath.dirname, "name": posixpath.basename,
       "stem": lambda v: posixpath.splitext(posixpath.basename(v))[0], "upper": str.upper, "lower": str.lower}
_PARSER = string.Formatter()


def fields(template):
    """The column names a template reads, in order ('split' included when it reads it)."""
    out = []
    for _, name, spec, _ in _PARSER.parse(template or ""):
        if name is not None and name not in out:
            out.append(name)
        for op in (spec or "").split(":"):
            if op and op not in OPS:
                raise UserError(f"template '{template}': unknown operation ':{op}' after {{{name}}} (known: "
                                f"{', '.join(OPS)})")
    return out


def fill(template, row, **extra):
    """``template`` with every field replaced by its column's text in ``row`` (a mapping) or by ``extra``
    (e.g. split='train'); '/' and '\\' in paths both read as '/'."""
    parts = []
    for literal, name, spec, _ in _PARSER.parse(template):
        parts.append(literal)
        if name is None:
            continue
        value = text(extra[name] if name in extra else row[name]).replace("\\", "/")
        for op in (spec or "").split(":"):
            if op:
                value = OPS[op](value)
        parts.append(value)
    return "".join(parts)


def check_columns(template, columns, what, path):
    """A UserError naming the columns ``template`` reads that the table at ``path`` lacks."""
    missing = [f for f in fields(template) if f not in columns and f != "split"]
    if missing:
        raise UserError(f"{path}: {what} '{template}' reads the column(s) {', '.join(missing)}, which the table "
                        f"lacks (columns: {', '.join(map(str, columns))[:300]})")
