"""Atomic file writes: a kill at any moment leaves either the old file or the new one, never half of one."""
import os
import shutil
import tempfile
from pathlib import Path


def atomic_write(path, write):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text):
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_write_bytes(path, data):
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_csv(df, path):
    atomic_write(path, lambda fh: fh.write(df.to_csv(index=False).encode("utf-8")))


def atomic_torch_save(obj, path):
    import torch

    atomic_write(path, lambda fh: torch.save(obj, fh))


def keep_previous(path):
    """Before a file is rewritten: copy the existing one to NAME.bak (nothing already written is lost).

    Returns the backup's path, or None when there was nothing to keep."""
    path = Path(path)
    if not path.is_file():
        return None
    backup = path.with_name(path.name + ".bak")
    shutil.copy2(path, backup)
    return backup


def remove_stale_temps(folder):
    """Delete temporary files that a killed process left behind (the real files are untouched)."""
    for tmp in Path(folder).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
