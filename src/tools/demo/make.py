"""Synthetic stand-in data in a task's real layout: `python -m src.tools.demo --task kium|cxr|fundus --out DIR`.

One generator per task (kium.py: 8-view angiography; cxr.py: chest X-ray + lung masks; fundus.py: fundus
photographs + lesion masks + grade); with ``--format dicom`` every image becomes a DICOM file (dicom.py).
"""
from pathlib import Path

from ...utilities import config as C
from ...utilities.cli import command_parser
from ...utilities.errors import UserError, run_cli
from .chexpert import generate_chexpert
from .cxr import generate_cxr
from .dicom import VARIANTS, to_dicom
from .fundus import generate_fundus
from .kium import generate
from .rsna import generate_rsna

TASK_CONFIGS = {"kium": "kium.yaml", "cxr": "cxr_masked.yaml", "fundus": "fundus.yaml",
                "rsna_mammo": "rsna_mammo.yaml", "chexpert": "chexpert.yaml"}
DEFAULT_SIZES = {"kium": (720, 1255), "cxr": (256, 320), "fundus": (288, 384), "rsna_mammo": (192, 256),
                 "chexpert": (160, 224)}
GENERATORS = {"rsna_mammo": generate_rsna, "chexpert": generate_chexpert}
NATIVE_DICOM = ("rsna_mammo",)          # written as DICOM files by their generator


def generate_task(task, cfg, out, n_train, n_test, seed=0, size_range=None, lesion_scale=1.0, workers=None,
                  confounders=0.0):
    """The generator of ``task`` (TASK_CONFIGS) with its default image sizes; returns the label tables.
    lesion_scale: the aneurysm radius (kium), the lesions' contrast (fundus), the edema's contrast (cxr), the
    signs' strength (rsna_mammo, chexpert); confounders (cxr): the strength of the grade-linked shortcut outside
    the lungs in the training split."""
    size_range = tuple(size_range or DEFAULT_SIZES[task])
    if task == "cxr":
        return generate_cxr(cfg, out, n_train, n_test, seed, size_range, confounders, lesion_scale)
    if task == "fundus":
        return generate_fundus(cfg, out, n_train, n_test, seed, size_range, lesion_scale, workers)
    if task in GENERATORS:
        return GENERATORS[task](cfg, out, n_train, n_test, seed, size_range, lesion_scale, workers)
    return generate(cfg, out, n_train, n_test, seed, size_range, lesion_scale, workers)


def task_of(cfg):
    """The generator name ('kium' | 'cxr') whose config has the task of ``cfg``, or None."""
    return next((t for t, f in TASK_CONFIGS.items()
                 if C.load_config(C.PROJECT_ROOT / "configs" / f)["task"] == cfg["task"]), None)


def make_demo(task, out, n_train, n_test, seed=0, size_range=None, lesion_scale=1.0, workers=None, confounders=0.0,
              fmt="image", dicom_variant="mixed"):
    """A synthetic data set of ``task`` ('kium' | 'cxr' | 'fundus') in the real layout under ``out`` (train_set/,
    test_set/, groundtruth.csv); never over an existing one. ``fmt`` 'dicom': the images as DICOM files
    (dicom.py, ``dicom_variant``). Returns the label tables."""
    if task not in TASK_CONFIGS:
        raise UserError(f"no synthetic generator for task '{task}' (choose from {', '.join(TASK_CONFIGS)})")
    cfg = C.load_config(C.PROJECT_ROOT / "configs" / TASK_CONFIGS[task])
    out = Path(out)
    if (out / "train_set").exists() or (out / "test_set").exists():
        raise UserError(f"{out} already holds a data set; choose another --out (nothing is overwritten)")
    if n_train < 1 or n_test < 1:
        raise UserError("--n_train and --n_test must be at least 1")
    if confounders and task != "cxr" or not 0 <= confounders <= 1:
        raise UserError("--confounders is a strength from 0 to 1, for --task cxr only")
    if fmt not in ("image", "dicom") or dicom_variant not in VARIANTS:
        raise UserError(f"--format is image or dicom, --dicom_variant one of {', '.join(VARIANTS)}")
    if fmt == "dicom" and task in NATIVE_DICOM:
        raise UserError(f"--task {task} is written as DICOM files already (its layout's own); leave out --format")
    tables = generate_task(task, cfg, out, n_train, n_test, seed, size_range, lesion_scale, workers, confounders)
    if fmt == "dicom":
        to_dicom(task, cfg, out, dicom_variant, seed)
    return tables


def main(argv=None):
    p = command_parser("Write a synthetic data set in the task's real layout.",
                       "python -m src.tools.demo --task kium --out demo --n_train 600 --n_test 300")
    p.add_argument("--task", default="kium", choices=sorted(TASK_CONFIGS),
                   help="kium: 8-view angiography; cxr: chest X-ray + lung masks; fundus: colour fundus photographs "
                        "+ lesion masks + DR grade; rsna_mammo: RSNA 2023 screening mammography (DICOM, one row per "
                        "image); chexpert: CheXpert v1.0-small (one row per image, studies of 1-3 views) (default "
                        "kium)")
    p.add_argument("--out", required=True, help="output folder (train_set/, test_set/, groundtruth.csv)")
    p.add_argument("--n_train", type=int, default=600, help="training samples (rsna_mammo, chexpert: patients)")
    p.add_argument("--n_test", type=int, default=300, help="test samples (rsna_mammo, chexpert: patients)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size_range", type=int, nargs=2, metavar=("MIN", "MAX"),
                   help="image side in pixels (default kium 720 1255, as in the real set; cxr 256 320; fundus 288 384; "
                        "rsna_mammo 192 256; chexpert 160 224)")
    p.add_argument("--lesion_scale", type=float, default=1.0,
                   help="kium: aneurysm radius; fundus: lesion contrast; cxr: edema contrast; rsna_mammo, chexpert: "
                        "the signs' strength (a multiplier, default 1; lower: harder)")
    p.add_argument("--confounders", type=float, default=0.0,
                   help="cxr: strength 0-1 of a shortcut outside the lungs (ICU films: text tag, device line, "
                        "pacemaker) whose frequency rises with the grade in train_set only (default 0: none)")
    p.add_argument("--workers", type=int, help="processes (default: all CPUs)")
    p.add_argument("--format", default="image", choices=["image", "dicom"],
                   help="image: JPEG/PNG files (default); dicom: every image as a DICOM file (.dcm)")
    p.add_argument("--dicom_variant", default="mixed", choices=VARIANTS,
                   help="with --format dicom: plain (8-bit) | mono1 (12-bit MONOCHROME1) | 12bit (rescaled, windowed) "
                        "| jpeg (encapsulated) | multiframe (a contrast run) | mixed (one of the first four per image; "
                        "default)")
    args = p.parse_args(argv)
    out = Path(args.out)
    tables = make_demo(args.task, out, args.n_train, args.n_test, args.seed, args.size_range, args.lesion_scale,
                       args.workers, args.confounders, args.format, args.dicom_variant)
    cfg = C.load_config(C.PROJECT_ROOT / "configs" / TASK_CONFIGS[args.task])
    if args.task in ("cxr", "fundus"):
        truth = "groundtruth.csv" if args.task == "cxr" else "groundtruth/ (lesion masks, grades.csv)"
        print(f"wrote {out}: {args.n_train} train (images, masks, train.csv) / {args.n_test} test (images, "
              f"test.csv; no masks) samples and {truth}")
        return 0
    if args.task in GENERATORS:
        print(f"wrote {out}: {args.n_train} train / {args.n_test} test patients in the competition's layout "
              f"({len(tables['train'])} training images; {len(tables['test'])} rows in groundtruth.csv)")
        return 0
    prim = C.primary(cfg)
    print(f"wrote {out}: {len(tables['train'])} train / {len(tables['test'])} test samples, "
          f"{prim} rate {tables['train'][prim].mean():.2f} (train)")
    return 0


if __name__ == "__main__":
    run_cli(main)
