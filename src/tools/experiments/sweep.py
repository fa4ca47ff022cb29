"""Compare recipes by out-of-fold score:
`python -m src.tools.experiments.sweep --data_dir DIR --grid "pool=max,gem img_size=384,512"`.

Every combination of the grid is trained over the chosen folds (all combinations share one folds.csv), each
in its own weights folder under --out; finished folds are skipped, so an interrupted sweep resumes where it
stopped. The leaderboard (CSV and a printed table) ranks them by the out-of-fold headline score and shows the
organizers' two numbers, the all-zeros baseline and the wall time per fold; --best writes the winner's
configuration as a YAML that train.py --config accepts.
"""
import argparse
import itertools
import shutil
from pathlib import Path

import pandas as pd
import yaml

from ...tasks import kind_of
from ...train_cmd import OVERRIDES, overrides_of
from ...train_cmd import parser as train_parser
from ...training.cross_validation import train
from ...training.summary import read_oof
from ...utilities import config as C
from ...utilities import layout
from ...utilities.cli import command_parser
from ...utilities.errors import UserError, run_cli
from ...utilities.files import atomic_write_csv
from ...utilities.runtime import setup_logging


def parse_grid(text):
    """'pool=max,gem img_size=384,512' -> {'model.pool': ['max', 'gem'], 'preprocess.img_size': [384, 512]}."""
    grid = {}
    for part in text.split():
        key, sep, values = part.partition("=")
        if not sep or not values:
            raise UserError(f"--grid entries look like key=v1,v2 (got '{part}')")
        dotted = OVERRIDES.get(key, key)
        if "." not in dotted:
            raise UserError(f"unknown grid key '{key}': use a train.py option ({', '.join(OVERRIDES)}) or a "
                            "dotted config key such as model.dropout")
        grid[dotted] = [yaml.safe_load(v) for v in values.split(",")]
    if not grid:
        raise UserError("--grid is empty")
    return grid


def run_name(combo):
    return "_".join(f"{k.split('.')[-1]}-{v}" for k, v in combo.items())


def leaderboard_row(name, combo, cfg, weights, folds):
    kind = kind_of(cfg)
    summary, _ = kind.summarize(read_oof(weights, folds))     # train.py has printed this summary already
    row = dict(run=name, **{k.split(".")[-1]: v for k, v in combo.items()}, folds=len(folds),
               **kind.leaderboard(summary))
    times = [pd.read_csv(layout.metrics(weights, k))[["train_s", "val_s"]].to_numpy().sum() for k in folds]
    row["wall_s_per_fold"] = round(sum(times) / len(times), 1)
    return row


def main(argv=None):
    p = command_parser("Train every combination of a grid over the folds and rank them by out-of-fold score.",
                       'python -m src.tools.experiments.sweep --data_dir train_set --grid "pool=max,gem,attn '
                       'img_size=384,512 model=resnet18,efficientnet_b0" --best best.yaml',
                       "extra train.py options go after --, e.g. -- --epochs 10 --pretrained")
    p.add_argument("--data_dir", required=True)
    p.add_argument("--config", help="task YAML or name (default: configs/kium.yaml)")
    p.add_argument("--grid", required=True, help='space-separated key=v1,v2 entries; keys are train.py options '
                                                 '(pool, img_size, model, ...) or dotted config keys')
    p.add_argument("--folds", help="comma-separated folds (default: all)")
    p.add_argument("--out", default="runs/sweep", help="one weights folder per combination + leaderboard.csv")
    p.add_argument("--best", help="write the winning configuration to this YAML")
    p.add_argument("train_args", nargs=argparse.REMAINDER, help="after --: options passed to every train.py run")
    args = p.parse_args(argv)
    setup_logging()
    grid = parse_grid(args.grid)
    # the train.py options after --, read by train.py's own parser: they apply to every combination
    targs = train_parser().parse_args(["--data_dir", args.data_dir, "--fold", "all"]
                                      + [a for a in args.train_args if a != "--"])
    base = C.load_config(args.config)
    base = C.resolved(base, overrides_of(targs, base))
    n_folds = int(base["train"]["n_folds"])
    folds = [int(f) for f in args.folds.split(",")] if args.folds else list(range(n_folds))
    if any(f < 0 or f >= n_folds for f in folds):
        raise UserError(f"--folds must lie in 0..{n_folds - 1}")
    out = Path(args.out)
    rows, configs = [], {}
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    for i, combo in enumerate(combos, 1):
        name = run_name(combo)
        weights = out / name
        cfg = C.resolved(base, combo)
        C.validate(cfg, name)
        weights.mkdir(parents=True, exist_ok=True)
        if layout.folds_csv(out).is_file() and not layout.folds_csv(weights).is_file():
            shutil.copy(layout.folds_csv(out), layout.folds_csv(weights))   # one split for every combination
        print(f"[sweep {i}/{len(combos)}] {name}", flush=True)
        train(args.data_dir, cfg, weights, folds, targs.device, resume=True, pretrained=targs.pretrained,
              pretrained_path=targs.pretrained_path, num_workers=targs.num_workers, cache_dir=targs.cache_dir,
              no_cache=targs.no_cache, pretrained_download=targs.pretrained_download)
        if not layout.folds_csv(out).is_file():
            shutil.copy(layout.folds_csv(weights), layout.folds_csv(out))
        # what was trained: the grid's values and the options after -- (model, size, epochs, ...)
        configs[name] = C.load_config(layout.fold_config(weights, folds[0]))
        rows.append(leaderboard_row(name, combo, cfg, weights, folds))
    table = pd.DataFrame(rows)
    headline = next(c for c in ("oof_primary_auc", "oof_mean_auc", "oof_dice") if c in table.columns)
    table = table.sort_values(headline, ascending=False, kind="stable").reset_index(drop=True)
    atomic_write_csv(table, out / "leaderboard.csv")
    print(f"\nleaderboard ({len(folds)} folds, out-of-fold; ranked by {headline}):")
    print(table.to_string(index=False, float_format="%.4f"))
    if args.best:
        C.save_config(configs[table.loc[0, "run"]], args.best)
        print(f"best: {table.loc[0, 'run']} -> {args.best} (python train.py --config {args.best} ...)")
    return 0


if __name__ == "__main__":
    run_cli(main)
