"""Writes that fail: a read-only --out (the default output.csv in a read-only folder too), a full disk while
output.csv and its .bak are written, a folder in the way, a read-only --weights_dir. Each is one line (exit 2,
no traceback) before any work where it can be known then, and a file written earlier stays whole.

A read-only folder and a full disk are made for real in a private mount namespace (a read-only bind mount, a
small tmpfs) where this machine allows one; elsewhere the same errors are raised by a wrapper that fails the
writes under the folder, and the test says so."""
import hashlib
import os
import re
import subprocess
import sys
import textwrap
import warnings

import pytest

from conftest import ROOT, TRAIN_ARGS


def namespaces_work():
    try:
        proc = subprocess.run(["unshare", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && "
                               "mount -o remount,ro /mnt && ! touch /mnt/x"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


REAL = namespaces_work()
FAKE = textwrap.dedent("""
    import errno, os, runpy, sys, tempfile
    folder, code, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    print(f"faked: writes under {folder} fail with errno {code} (no mount namespace on this machine)")
    real_mkstemp, real_fsync = tempfile.mkstemp, os.fsync
    def mkstemp(*a, dir=None, **k):
        if code == errno.EROFS and dir is not None and os.path.abspath(dir).startswith(folder):
            raise OSError(code, os.strerror(code), dir)
        return real_mkstemp(*a, dir=dir, **k)
    def fsync(fd):
        name = os.readlink(f"/proc/self/fd/{fd}")
        if code == errno.ENOSPC and name.startswith(folder) and os.path.getsize(name) > 0:
            raise OSError(code, os.strerror(code))
        return real_fsync(fd)
    tempfile.mkstemp, os.fsync = mkstemp, fsync
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
""")


def run_in(tmp_path, folder, how, script, *args, cwd=None):
    """Run one of the project's scripts with ``folder`` read-only (how='ro') or on a nearly full small disk
    (how='full', ``folder`` holding what it held before); the CompletedProcess."""
    args = [str(a) for a in args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if REAL:
        setup = {"ro": f'mount -o bind,ro "{folder}" "{folder}"',
                 "full": f'cp -a "{folder}" /tmp/_keep_$$ && mount -t tmpfs -o size=64k tmpfs "{folder}" && '
                         f'cp -a /tmp/_keep_$$/. "{folder}" && rm -rf /tmp/_keep_$$ && '
                         f'(head -c 100000 /dev/zero > "{folder}/filler" 2>/dev/null; true)'}[how]
        after = f'; rc=$?; md5sum "{folder}/output.csv" >&2; exit $rc' if how == "full" else ""   # before it goes
        cmd = ["unshare", "--mount", "sh", "-c", f'{setup} && cd "{cwd or ROOT}" && "$@"{after}', "sh",
               sys.executable, str(ROOT / script), *args]
    else:
        warnings.warn("no mount namespace: the failing writes are faked (tests/test_writes.py FAKE)")
        (tmp_path / "fake.py").write_text(FAKE)
        code = {"ro": 30, "full": 28}[how]
        cmd = [sys.executable, str(tmp_path / "fake.py"), str(folder), str(code), str(ROOT / script), *args]
    return subprocess.run(cmd, cwd=cwd or ROOT, capture_output=True, text=True, env=env, timeout=900)


def one_line(proc):
    """The one line a failed run printed (exit 2, no traceback); an md5sum line the namespace adds is set aside."""
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.strip().splitlines() if not re.match(r"^[0-9a-f]{32}  ", line)]
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    return lines[0]


def test_a_read_only_out_is_refused_before_any_work(trained, demo, tmp_path):
    weights, _ = trained
    ro = tmp_path / "ro"
    ro.mkdir()
    for out_args, cwd in ((["--out", ro / "output.csv"], None), ([], ro)):         # given, and the default here
        proc = run_in(tmp_path, ro, "ro", "test.py", "--data_dir", demo / "test_set", "--weights_dir", weights,
                      "--device", "cpu", "--num_workers", 0, *out_args, cwd=cwd)
        line = one_line(proc)
        assert "--out" in line and "output.csv" in line and "read-only" in line, line
        assert "data:" not in proc.stdout                        # refused before the data check and the models


def test_a_full_disk_leaves_the_earlier_output_whole(trained, demo, tmp_path):
    weights, _ = trained
    disk = tmp_path / "disk"
    disk.mkdir()
    earlier = "Index,Aneurysm\n" + "".join(f"{i},0.5\n" for i in range(400))     # larger than the room left
    (disk / "output.csv").write_text(earlier)
    proc = run_in(tmp_path, disk, "full", "test.py", "--data_dir", demo / "test_set", "--weights_dir", weights,
                  "--device", "cpu", "--num_workers", 0, "--out", disk / "output.csv")
    line = one_line(proc)
    assert "disk is full" in line and "unchanged" in line, line
    if REAL:                           # the tmpfs goes with its namespace: its output.csv was summed before
        assert hashlib.md5(earlier.encode()).hexdigest() in proc.stderr, proc.stderr
    else:
        assert (disk / "output.csv").read_text() == earlier


def test_a_folder_in_the_way_and_a_read_only_weights_folder(trained, demo, tmp_path):
    weights, _ = trained
    (tmp_path / "output.csv").mkdir()
    proc = subprocess.run([sys.executable, str(ROOT / "test.py"), "--data_dir", str(demo / "test_set"),
                           "--weights_dir", str(weights), "--out", str(tmp_path / "output.csv")],
                          capture_output=True, text=True, timeout=300)
    assert "is a folder; give a file name" in one_line(proc)
    ro = tmp_path / "ro_weights"
    ro.mkdir()
    proc = run_in(tmp_path, ro, "ro", "train.py", "--data_dir", demo / "train_set", "--fold", "0", "--weights_dir",
                  ro / "w", *TRAIN_ARGS)
    line = one_line(proc)
    assert "--weights_dir" in line and "read-only" in line and "epoch" not in proc.stdout, line


@pytest.mark.skipif(not REAL, reason="needs a mount namespace to make a full disk for the .bak copy")
def test_a_full_disk_while_keeping_the_backup(tmp_path):
    """The copy to output.csv.bak fails on a full disk: one line, output.csv and an older .bak whole."""
    disk = tmp_path / "disk"
    disk.mkdir()
    (disk / "output.csv").write_text("x" * 50000)
    (disk / "output.csv.bak").write_text("older")
    code = ("import sys; sys.path.insert(0, sys.argv[2]); from src.utilities.files import keep_previous\n"
            "from src.utilities.errors import UserError\n"
            "try:\n    keep_previous(sys.argv[1] + '/output.csv')\nexcept UserError as e:\n    print(e)\n"
            "print(len(open(sys.argv[1] + '/output.csv').read()), open(sys.argv[1] + '/output.csv.bak').read())")
    (tmp_path / "probe.py").write_text(code)
    setup = (f'cp -a "{disk}" /tmp/_k$$ && mount -t tmpfs -o size=72k tmpfs "{disk}" && cp -a /tmp/_k$$/. "{disk}" '
             f'&& rm -rf /tmp/_k$$')
    proc = subprocess.run(["unshare", "--mount", "sh", "-c", f'{setup} && exec "$@"', "sh", sys.executable,
                           str(tmp_path / "probe.py"), str(disk), str(ROOT)], capture_output=True, text=True,
                          timeout=120)
    assert "disk is full" in proc.stdout and proc.stdout.strip().endswith("50000 older"), proc.stdout + proc.stderr
