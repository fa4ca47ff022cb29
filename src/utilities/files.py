"""Atomic file writes: a kill at any moment leaves either the old file or the new one, never half of one.

Every file written here gets the mode a plain ``open(path, "w")`` would give it (0o666 less the umask: 0644
under the usual umask 022, so an organizer's scorer running as another account can read it), and a file that
is replaced keeps its mode (an existing 0640 output.csv stays 0640)."""
import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path


def umask():
    """The process's umask, read without changing it (Linux: /proc; elsewhere set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode(path):
    """The permission bits a write of ``path`` should leave: the existing file's, else 0o666 & ~umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~umask()


def atomic_write(path, write):
    """Write ``path`` through ``write(binary file handle)`` into a temporary file beside it, then rename it over
    ``path``; the mode is ``file_mode(path)`` (mkstemp's 0600 would lock other accounts out)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.chmod(fh.fileno(), mode)
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
    shutil.copy2(path, backup)          # contents, times and the original's mode
    return backup


def remove_stale_temps(folder):
    """Delete temporary files that a killed process left behind (the real files are untouched)."""
    for tmp in Path(folder).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def sha256_of(path):
    """Hex SHA-256 of a file's bytes, read in 1 MiB pieces (weights provenance, the submission's manifest)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
