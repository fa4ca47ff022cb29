"""Atomic file writes: a kill at any moment leaves either the old file or the new one, never half of one.

Every file written here gets the mode a plain ``open(path, "w")`` would give it (0o666 less the umask: 0644
under the usual umask 022, so an organizer's scorer running as another account can read it), and a file that
is replaced keeps its mode (an existing 0640 output.csv stays 0640). A write that fails (a read-only folder, a
full disk, a folder in the way) is one line and leaves the earlier file as it was; ``writable_folder`` and
``writable_file`` check a destination before the work that fills it starts."""
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from .errors import UserError


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


REASONS = {errno.EROFS: "the folder is read-only", errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota "
           "is used up", errno.EACCES: "permission denied", errno.EPERM: "not permitted", errno.EISDIR: "a folder is "
           "in the way", errno.ENOTDIR: "a file is in the way of a folder", errno.ENAMETOOLONG: "the name is too long",
           errno.EEXIST: "a file is in the way of a folder"}


def write_error(path, exc):
    """The one-line UserError of a write of ``path`` that failed with ``exc`` (an OSError)."""
    why = REASONS.get(exc.errno) or exc.strerror or type(exc).__name__
    return UserError(f"cannot write {path}: {why}; a file that was there before is unchanged (choose another place, "
                     "or free some room)")


def atomic_write(path, write):
    """Write ``path`` through ``write(binary file handle)`` into a temporary file beside it, then rename it over
    ``path``; the mode is ``file_mode(path)`` (mkstemp's 0600 would lock other accounts out). A write that fails
    (read-only folder, full disk, a folder in the way) is a one-line UserError and leaves ``path`` as it was."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        mode = file_mode(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            os.chmod(fh.fileno(), mode)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise write_error(path, exc) from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp):
    if tmp is not None and os.path.exists(tmp):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def writable_folder(folder, what):
    """Make sure files can be written into ``folder`` (or, while it does not exist, into the nearest folder above
    it, where it will be made) before any work is done: a one-line UserError naming ``what`` (the option that
    chose it) otherwise. Nothing is left behind."""
    folder = Path(folder).absolute()
    try:
        existing = next(p for p in [folder, *folder.parents] if p.exists())
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(existing))
        fd, probe = tempfile.mkstemp(prefix=".write_check.", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        why = REASONS.get(exc.errno) or exc.strerror or type(exc).__name__
        raise UserError(f"{what} {folder} cannot be written ({why}); choose another folder") from None


def writable_file(path, what):
    """Make sure the file ``path`` can be written (its folder writable, no folder of that name) before any work."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; give a file name, e.g. {path / 'output.csv'}")
    writable_folder(path.parent, f"{what} {path.name}: its folder")


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
    """Before a file is rewritten: copy the existing one to NAME.bak (nothing already written is lost), itself
    atomically, so a copy that fails (a full disk) leaves an older NAME.bak whole.

    Returns the backup's path, or None when there was nothing to keep."""
    path = Path(path)
    if not path.is_file():
        return None
    backup = path.with_name(path.name + ".bak")
    with open(path, "rb") as src:
        atomic_write(backup, lambda fh: shutil.copyfileobj(src, fh))
    shutil.copystat(path, backup)       # times and the original's mode
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
