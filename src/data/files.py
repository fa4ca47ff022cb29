"""Where a data folder's files are: the folder that holds its table (itself or one level down, as some copies nest
``test_set/test_set/``), the images of a folder by file stem, and a file named by a table (a path or a pattern)
found as the table names it, with any image extension appended, or in another letter case."""
import os
from pathlib import Path

from ..utilities.errors import UserError


def subdirs(path):
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def find_root(data_dir, csv_name):
    """(the folder holding ``csv_name``: data_dir itself or one level down, the table's path), or (data_dir,
    None) when there is none; a UserError when data_dir is no folder. ``csv_name`` may hold subfolders
    ('CheXpert-v1.0-small/train.csv'; data_dir may then also be the folder it names first)."""
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise UserError(f"data folder not found: {data_dir}")
    first = Path(csv_name).parts[0]
    inside = [data_dir.parent] if len(Path(csv_name).parts) > 1 and data_dir.name == first else []
    for cand in [data_dir] + subdirs(data_dir) + inside:       # inside: given CheXpert-v1.0-small/ itself
        if (cand / csv_name).is_file():
            return cand, cand / csv_name
    return data_dir, None


def index_images(root, extensions, csv_names=()):
    """(lower-case stem -> path for every image in root and one folder below, shallower first;
    other files found there, the CSVs and hidden files excepted)."""
    exts = {e.lower() for e in extensions}
    found, stray = {}, []
    for folder in [root] + subdirs(root):
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


class FileFinder:
    """Files under ``root`` by a relative path as a table or a pattern names them ('a/b/c.jpg', 'a/b/c'): the
    path as given, else with one of ``extensions`` appended, else the same in another letter case. Each folder is
    listed once, however many files are looked up in it."""

    def __init__(self, root, extensions):
        self.root = Path(root)
        self.exts = [e.lower() for e in extensions]
        self._listed = {}

    def _listing(self, folder):
        """{lower-case name: (entry path, is a file)} of a folder (empty when it cannot be listed)."""
        if folder not in self._listed:
            try:
                self._listed[folder] = {e.name.lower(): (Path(e.path), e.is_file()) for e in os.scandir(folder)}
            except OSError:
                self._listed[folder] = {}
        return self._listed[folder]

    def find(self, rel):
        """The file ``rel`` names under root, or None."""
        parts = [p for p in str(rel).replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts:
            return None
        folder = self.root
        for part in parts[:-1]:
            entry = self._listing(folder).get(part.lower())
            if entry is None or entry[1]:
                return None
            folder = entry[0]
        listing = self._listing(folder)
        for name in [parts[-1]] + [parts[-1] + e for e in self.exts]:
            entry = listing.get(name.lower())
            if entry is not None and entry[1]:
                return entry[0]
        return None
