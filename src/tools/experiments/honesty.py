"""Does the CV score tell the truth? `python -m src.tools.experiments.honesty --weights_dir W --n_test 300`

Generates a fresh held-out set from the same synthetic generator (a seed the training data did not use),
predicts it with test.py's code path and prints the out-of-fold CV scores (weights_dir/cv_summary.json)
beside the held-out scores.
"""
import json
from pathlib import Path

import pandas as pd

from ...inference.predict import predict
from ...tasks import kind_of
from ...utilities import config as C
from ...utilities import layout
from ...utilities.cli import command_parser
from ...utilities.errors import UserError, run_cli
from ...utilities.files import atomic_write_text
from ...utilities.runtime import setup_logging
from ..demo.make import generate_task, task_of


def heldout_table(weights, out, n_test, seed, size_range=None, lesion_scale=1.0, device="auto", num_workers=None):
    """(table of CV estimates beside the held-out scores, one extra line) for a finished run in ``weights``.

    The held-out set (``out``/heldout_seed{seed}) is generated once and reused by later calls."""
    weights, out = Path(weights), Path(out)
    summary_path = layout.summary(weights)
    if not summary_path.is_file():
        raise UserError(f"{summary_path} not found: finish every fold first (train.py --fold all --resume)")
    cv = json.loads(summary_path.read_text())
    cfg = next(iter(layout.fold_configs(weights)), None)
    cfg = C.load_config(cfg) if cfg else C.load_config()
    task = task_of(cfg)
    if task is None:
        raise UserError(f"no synthetic generator for task '{cfg['task']}'")
    data = out / f"heldout_seed{seed}"
    if not (data / "groundtruth.csv").is_file():
        generate_task(task, cfg, data, 1, n_test, seed, size_range, lesion_scale)
    pred = out / f"heldout_output_{weights.name}.csv"
    predict(data / "test_set", weights, pred, device, location_probs=True, num_workers=num_workers)
    cols = kind_of(cfg).cols
    y = pd.read_csv(data / "groundtruth.csv")[cols].to_numpy(float)
    p_ = pd.read_csv(pred)[cols].to_numpy(float)
    rows, extra = kind_of(cfg).heldout_rows(cv, y, p_)
    table = pd.DataFrame(rows, columns=["score", "oof_cv", "held_out"])
    table["difference"] = table["held_out"] - table["oof_cv"]
    return table, extra


def add_heldout_args(p, out):
    """The options of a held-out check (where it goes, how the fresh set is generated, how it is predicted)."""
    p.add_argument("--out", default=out, help="where the held-out set and its predictions go")
    p.add_argument("--n_test", type=int, default=300)
    p.add_argument("--seed", type=int, default=12345, help="generator seed of the held-out set (not the training one)")
    p.add_argument("--size_range", type=int, nargs=2, metavar=("MIN", "MAX"),
                   help="as used for the training data (default: the generator's)")
    p.add_argument("--lesion_scale", type=float, default=1.0, help="as used for the training data (K-ium)")
    p.add_argument("--device", default="auto")
    p.add_argument("--num_workers", type=int)


def main(argv=None):
    p = command_parser("Out-of-fold CV scores beside the scores on a fresh held-out set.",
                       "python -m src.tools.experiments.honesty --weights_dir weights --n_test 300 --seed 123 "
                       "--size_range 720 1255")
    p.add_argument("--weights_dir", required=True, help="a finished training run (with cv_summary.json)")
    add_heldout_args(p, "runs/honesty")
    args = p.parse_args(argv)
    setup_logging()
    table, extra = heldout_table(args.weights_dir, args.out, args.n_test, args.seed, args.size_range,
                                 args.lesion_scale, args.device, args.num_workers)
    atomic_write_text(Path(args.out) / "honesty.json", table.to_json(orient="records", indent=2))
    print(f"\nout-of-fold CV vs fresh held-out set ({args.n_test} samples, seed {args.seed}):")
    print(table.to_string(index=False, float_format="%.4f"))
    if extra:
        print(extra)
    return 0


if __name__ == "__main__":
    run_cli(main)
