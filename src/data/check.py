"""The data check (`python -m src.check_data --data_dir DIR [--config FILE]` runs it alone).

Lists every problem of a train or test folder with the samples and files concerned. train.py and test.py run
the same check at start and print its summary. Errors stop the run with one line (exit 2); warnings let it go
on (a missing or unusable view becomes a blank image).
"""
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from PIL import Image
from tqdm import tqdm

from ..readers import dicom
from ..readers.formats import ENDINGS, EXTENSIONS, format_of, head_of, image_extensions
from ..readers.images import header_size, read_image
from ..tasks import kind_of
from ..utilities import config as C
from ..utilities.errors import UserError
from .discover import discover, stem_ids
from .files import find_root
from .mask_survey import value_problems

log = logging.getLogger("harness")

@dataclass
class Problem:
    severity: str          # "error": the run cannot go on | "warning": it goes on, as the message says | "note"
    what: str
    items: list = field(default_factory=list)
    count: int = None      # what the line counts when not the items (a summary's items are not files)

    def line(self, limit=10):
        shown = "; ".join(map(str, self.items[:limit]))
        more = f" ... and {len(self.items) - limit} more" if len(self.items) > limit else ""
        return f"[{self.severity}] {self.what} ({len(self.items) if self.count is None else self.count}): {shown}{more}"


def file_kind(path):
    """(format by content or None, problem or None) from a cheap look at a file's first and last bytes; the
    problem is 'unreadable', 'empty', 'not an image', 'truncated', 'a JPEG named .png' or None."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(dicom.HEAD_BYTES)
            fh.seek(max(0, size - 1024))
            tail = fh.read()
    except OSError:
        return None, "unreadable"
    if size == 0:
        return None, "empty"
    kind = format_of(head)
    if kind is None:
        return None, "not an image"
    if kind in ENDINGS and ENDINGS[kind] not in tail:
        return kind, "truncated"
    if path.suffix.lower() not in EXTENSIONS[kind]:
        return kind, f"a {kind.upper()} named {path.suffix}"
    return kind, None


def file_problem(path):
    """file_kind's problem alone: 'empty', 'not an image', 'truncated', 'a JPEG named .png' ... or None."""
    return file_kind(path)[1]


def decode_stats(path, kind, reading=dicom.Reading()):
    """(short side in pixels, standard deviation of the gray image as the run decodes it, None), or
    (None, None, why it cannot be decoded). Through the run's own decoder (readers/images.read_image); a JPEG (``kind``)
    at 1/4 of the size its header gives, any other file at full size."""
    size = header_size(path) if kind == "jpeg" else None
    img, why = read_image(path, min(size) // 4 if size else None, 1, reading)
    if img is None:
        return None, None, why
    return (min(size) if size else min(img.shape)), float(img.std()), None


def check(samples, cfg, split, img_size=None, decode=True):
    """Every problem of a discovered folder, as a list of Problem."""
    id_col = cfg["data"]["id_column"]
    n_views = len(C.views(cfg))
    img_size = int(img_size or cfg["preprocess"]["img_size"])
    out = []

    def add(severity, what, items):
        if len(items):
            out.append(Problem(severity, what, list(items)))

    frame_ids = samples.frame[id_col]
    dup = frame_ids[frame_ids.duplicated()].unique().tolist()
    add("error" if split == "train" else "warning",
        f"duplicate {id_col} rows" + ("" if split == "train" else " (each gets its own output row)"), dup)
    files = [p for row in samples.paths for p in row if p is not None] + list(samples.unreadable)
    if not files:
        add("error", "no usable images at all (check --data_dir and the file names, e.g. "
            f"'{cfg['data']['file_pattern'].format(id=samples.ids[0], view=C.views(cfg)[0])}.jpg')",
            [str(samples.root)])
    none = [sid for sid, v in samples.missing.items() if len(v) == n_views]
    add("warning", "samples with NO usable image (predicted from blank views)", none)
    some = [f"{sid}: {' '.join(v)}" for sid, v in samples.missing.items() if len(v) < n_views]
    if cfg["data"]["layout"] == "long":        # a study without a lateral image: the layout's usual case
        add("note", "samples without an image in some view (a blank image stands in)", some)
    else:
        add("warning", "missing views (used as blank images)", some)
    out += [Problem(*n) for n in samples.notes]
    if samples.csv_path is not None and cfg["data"]["layout"] == "wide":
        known = {s.lower() for s in samples.ids}
        orphans = [samples.index[stem].name for stem, sid in stem_ids(samples.index, cfg).items() if sid not in known]
        add("warning", f"image files without a row in {samples.csv_path.name} (ignored)", sorted(orphans))
    add("warning", "other files (ignored)", sorted(p.name for p in samples.stray))

    formats, kinds = {}, {}
    for p in files:
        formats[p], kinds[p] = file_kind(p)
    name = shown(samples, cfg)
    by_kind = {}
    for p, kind in kinds.items():
        if kind:
            by_kind.setdefault(kind, []).append(name(p))
    for kind, names in sorted(by_kind.items()):
        usable = kind.startswith("a ")
        add("warning", f"{kind} (decoded by content)" if usable else f"{kind} images (used as blank views)", names)
    dicoms = [p for p in files if formats[p] == "dicom"]
    if dicoms:
        out.append(Problem("note", "DICOM files (counts per value)", dicom.summary(dicoms), count=len(dicoms)))

    if decode:
        good = [p for p in files if kinds[p] is None or kinds[p].startswith("a ")]
        reading = dicom.Reading.of(cfg["preprocess"])
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            stats = list(tqdm(pool.map(lambda p: decode_stats(p, formats[p], reading), good), total=len(good),
                              desc="checking images", leave=False, disable=None))
        add("warning", "undecodable images (used as blank views)", [f"{name(p)} ({s[2]})" for p, s in zip(good, stats)
                                                                    if s[2]])
        add("warning", f"images far smaller than img_size {img_size} (short side < {img_size // 2} px)",
            [f"{name(p)} ({s[0]} px)" for p, s in zip(good, stats) if s[0] is not None and s[0] < img_size // 2])
        add("warning", "near-blank images (almost no contrast)",
            [name(p) for p, s in zip(good, stats) if s[1] is not None and s[1] < 2.0])

    if samples.mask_paths is not None:
        out += mask_problems(samples, cfg, split)
        if decode:                                                   # the values stored in the mask files
            learns = kind_of(cfg).mask_is_target and split == "train"
            out += [Problem(*p) for p in value_problems(samples, cfg, learns)]
    if decode or int(cfg["data"]["channels"]) == 3:         # gray tasks convert colour silently at test time
        add(*colour_note(files, int(cfg["data"]["channels"])))
    if split == "train" and samples.labels is not None:
        out += [Problem(*p) for p in kind_of(cfg).label_problems(samples)]
    return out


def shown(samples, cfg):
    """How the check names an image: its file name, or (long tables, whose files share names across studies)
    its path under the data folder."""
    if cfg["data"]["layout"] != "long" or samples.root is None:
        return lambda p: p.name
    return lambda p: p.relative_to(samples.root).as_posix() if p.is_relative_to(samples.root) else p.name


def mask_problems(samples, cfg, split):
    """Masks absent: an error for training a task that learns them (one mask folder) or has none at all; a
    warning otherwise (one folder per lesion type: an absent folder or file means none of that lesion)."""
    learns = kind_of(cfg).mask_is_target and split == "train"
    if not cfg["data"]["mask_subdirs"]:
        no_mask = [sid for sid, m in zip(samples.ids, samples.mask_paths) if m[0] is None]
        what = "samples without a mask" + ("" if learns else " (predicted by the segmentation weights named in the "
                                           "config, else the whole image)")
        return [Problem("error" if learns else "warning", what, no_mask)] if no_mask else []
    if not learns:
        return []
    absent = [f for f in samples.mask_folders if not f.is_dir()]
    if len(absent) == len(samples.mask_folders):
        return [Problem("error", "no mask folders at all (nothing to learn)", [str(f) for f in absent])]
    out = [Problem("warning", "mask folders absent (every image counts as having none of that lesion)",
                   [f"{f.parent.name}/{f.name}" for f in absent])] if absent else []
    unmatched = [f"{f.parent.name}/{f.name}" for j, f in enumerate(samples.mask_folders)
                 if f.is_dir() and any(f.iterdir()) and all(m[j] is None for m in samples.mask_paths)]
    if unmatched:
        out.append(Problem("warning", "mask folders holding files but no mask named like an id with one of "
                           f"the extensions {' '.join(image_extensions(cfg))} (read as no lesion)", unmatched))
    return out


def is_colour(path):
    """True when an image file holds colour (RGB, palette, CMYK ...), False for gray, None when unreadable;
    from its header only."""
    try:
        if dicom.is_dicom(head_of(path)):
            return dicom.header(path)["colour"]
        with Image.open(path) as im:
            return im.mode not in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
    except (OSError, ValueError, Image.DecompressionBombError, dicom.DicomError):
        return None


def colour_note(files, channels):
    """(severity, what, files) for the images whose colour differs from the task's (they are converted)."""
    colour = [p for p in files if is_colour(p) is (channels == 1)]
    if channels == 1:
        return "note", "colour images in a gray task (converted to gray)", [p.name for p in colour]
    return "warning", "gray images in a colour task (their gray copied to R, G and B)", [p.name for p in colour]


def report(samples, cfg, problems, limit=10):
    n_views = len(C.views(cfg))
    found = len(samples.ids) * n_views - sum(len(v) for v in samples.missing.values())
    log.info("data: %s | %d samples | %d/%d views found | %d problems (%d errors)", samples.root,
             len(samples.ids), found, len(samples.ids) * n_views, sum(p.severity != "note" for p in problems),
             sum(p.severity == "error" for p in problems))
    for p in problems:
        {"error": log.error, "warning": log.warning}.get(p.severity, log.info)("%s", p.line(limit))


def config_name(cfg):
    """How a command names this task's config: its name when configs/ holds it, else a placeholder."""
    shipped = C.PROJECT_ROOT / "configs" / f"{cfg['task']}.yaml"
    return cfg["task"] if shipped.is_file() else "YOUR_TASK.yaml"


def guess_split(data_dir, cfg):
    """'train' when the folder holds the training CSV (labels), else 'test'."""
    return "train" if find_root(data_dir, cfg["data"]["train_csv"])[1] is not None else "test"


def load_checked(data_dir, cfg, split, decode=True):
    """Discover a folder, check it, print the summary; a UserError when the run cannot go on. train.py and
    test.py run the whole check, the standalone command's (decoding every image once, a JPEG at 1/4 size);
    ``decode=False`` (explain.py, for one patient) keeps to the files' first and last bytes."""
    samples = discover(data_dir, cfg, split)
    problems = check(samples, cfg, split, decode=decode)
    report(samples, cfg, problems)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise UserError(f"{errors[0].what}: {'; '.join(map(str, errors[0].items[:5]))} "
                        f"(python -m src.check_data --data_dir {data_dir} --config {config_name(cfg)} lists every "
                        "problem)")
    return samples
