"""`python -m src.check_data --data_dir DIR [--config FILE]`: the data check alone (data/check.py), listing every
problem of a train or test folder; exit 2 when a run could not go on."""
from .data.check import check, guess_split, report
from .data.discover import discover
from .utilities import config as C
from .utilities.cli import command_parser
from .utilities.errors import UserError, run_cli
from .utilities.runtime import setup_logging


def main(argv=None):
    p = command_parser("Check a train or test folder and list every problem found.",
                       "python -m src.check_data --data_dir train_set")
    p.add_argument("--data_dir", required=True)
    p.add_argument("--config", help="task YAML or task name, e.g. cxr_masked (default: configs/kium.yaml)")
    p.add_argument("--split", choices=["auto", "train", "test"], default="auto",
                   help="train needs labels; auto: train when the folder holds the training CSV")
    p.add_argument("--img_size", type=int, help="size the images will be resized to (default: the config's)")
    args = p.parse_args(argv)
    setup_logging()
    cfg = C.load_config(args.config)
    split = guess_split(args.data_dir, cfg) if args.split == "auto" else args.split
    samples = discover(args.data_dir, cfg, split)
    problems = check(samples, cfg, split, img_size=args.img_size)
    report(samples, cfg, problems, limit=50)
    errors = [q for q in problems if q.severity == "error"]
    if errors:
        raise UserError(f"{len(errors)} problem(s) stop a {split} run: {errors[0].what}")
    warnings = [q for q in problems if q.severity == "warning"]
    print(f"data check ({split}): {'no problems' if not warnings else f'{len(warnings)} warnings; a run can go on'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
