"""`python -m src.tools.submission.pack --out submission.zip`: the submission as one zip, only after pre-flight
passed on it.

Contents: code, configs, best.pt of every fold (weights only, no optimizer state), cv_summary.json,
folds.csv, requirements.txt, SUBMISSION.md, README.md and MANIFEST.json (every file's size and sha256, the
package versions, the CV scores). No data, caches, last.pt or logs.
"""
import json
import os
import platform
import shutil
import stat
import time
import zipfile
from pathlib import Path

from ...utilities import config as C
from ...utilities import layout
from ...utilities.checkpoint import versions
from ...utilities.cli import command_parser
from ...utilities.errors import UserError, run_cli
from ...utilities.files import sha256_of
from .files import fingerprint, submission_files
from .preflight import MARKER

FILE_MODE, EXEC_MODE = 0o644, 0o755     # what every entry carries, whatever the mode of the file on this disk


def entry(rel, src=None):
    """The zip entry ``rel`` (of the file ``src``, or of data written now): deflated, with ordinary Unix
    permissions (0644; 0755 when ``src`` is executable), so an unzip or a container copy made by any account
    leaves files that another account (the organizers' scorer) can read."""
    info = zipfile.ZipInfo.from_file(src, rel) if src else zipfile.ZipInfo(rel, time.localtime()[:6])
    executable = src is not None and os.stat(src).st_mode & 0o111
    info.external_attr = (stat.S_IFREG | (EXEC_MODE if executable else FILE_MODE)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def main(argv=None):
    p = command_parser("Pack the submission into a zip (pre-flight must have passed on it).",
                       "python -m src.tools.submission.preflight --data_dir sample_test_set &&",
                       "python -m src.tools.submission.pack --out submission.zip")
    p.add_argument("--out", default="submission.zip")
    p.add_argument("--weights_dir", help="weights to ship (default: weights/ of this project)")
    args = p.parse_args(argv)
    weights = C.project_path(args.weights_dir, C.DEFAULT_WEIGHTS)
    files = submission_files(weights)
    marker = weights / MARKER
    if not marker.is_file():
        raise UserError(f"no pre-flight result in {weights}: run python -m src.tools.submission.preflight "
                        f"--data_dir SAMPLE_TEST --weights_dir {weights} first")
    result = json.loads(marker.read_text())
    if result.get("verdict") != "PASS":
        raise UserError(f"the last pre-flight failed ({'; '.join(result.get('reasons', []))[:200]}); fix and rerun it")
    if result.get("fingerprint") != fingerprint(files):
        raise UserError("code, configs or weights changed since pre-flight passed; run python -m "
                        "src.tools.submission.preflight again")
    out = Path(args.out)
    if out.exists():
        raise UserError(f"{out} exists; choose another --out (nothing is overwritten)")
    cv = json.loads(layout.summary(weights).read_text()) if layout.summary(weights).is_file() else None
    manifest = dict(files=[dict(path=rel, size=src.stat().st_size, sha256=sha256_of(src)) for rel, src in
                           sorted(files.items())],
                    packages=versions(), platform=platform.platform(), preflight=result,
                    cv_scores=cv and {k: v for k, v in cv.items() if k != "location_thresholds"})
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for rel, src in sorted(files.items()):
            with open(src, "rb") as fh, z.open(entry(rel, src), "w") as dst:
                shutil.copyfileobj(fh, dst, 1 << 20)
        z.writestr(entry("MANIFEST.json"), json.dumps(manifest, indent=2))
    tmp.replace(out)
    size = out.stat().st_size / 2**20
    print(f"wrote {out}: {len(files)} files + MANIFEST.json, {size:.1f} MiB "
          f"({sum(r.endswith('best.pt') for r in files)} folds)")
    return 0


if __name__ == "__main__":
    run_cli(main)
