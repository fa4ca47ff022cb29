"""Compare recipes by out-of-fold score: `python -m src.sweep --data_dir DIR --grid "pool=max,gem img_size=384,512"`.

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

from . import config as C
from . import targets as T
from .cv import read_oof, summarize_oof
from .errors import UserError, run_cli
from .io_utils import atomic_write_csv
from .runtime import setup_logging
from .train_cmd import OVERRIDES
from .train_cmd import main as train_main


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
    oof = read_oof(weights, folds)
    s, _ = summarize_oof(oof, cfg)               # train.py has printed this summary already
    row = dict(run=name, **{k.split(".")[-1]: v for k, v in combo.items()}, folds=len(folds))
    if T.kind(cfg) == "binary":
        rep = s["oof"]
        row.update(oof_primary_auc=rep["primary_auc"], mean_location_auc=rep["mean_location_auc"],
                   organizers_auc=rep["primary_auc"], organizers_location_accuracy=rep["location_accuracy"],
                   all_zeros_location_accuracy=rep["location_accuracy_all_zeros"],
                   fold_sd=s["primary_auc_fold_std"])
    elif T.kind(cfg) == "multiclass":
        row.update(oof_mean_auc=s["oof_mean_auc"], oof_accuracy=s["oof_accuracy"])
    else:
        row.update(oof_dice=s["oof_dice"], oof_iou=s["oof_iou"])
    times = [pd.read_csv(weights / f"fold_{k}" / "metrics.csv")[["train_s", "val_s"]].to_numpy().sum() for k in folds]
    row["wall_s_per_fold"] = round(sum(times) / len(times), 1)
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description="Train every combination of a grid over the folds and rank them by "
                                            "out-of-fold score.", formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='example:\n  python -m src.sweep --data_dir train_set --grid "pool=max,gem,attn '
                                       'img_size=384,512 model=resnet18,efficientnet_b0" --best best.yaml\n'
                                       "  extra train.py options go after --, e.g. -- --epochs 10 --pretrained")
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
    base = C.load_config(args.config)
    grid = parse_grid(args.grid)
    n_folds = int(base["train"]["n_folds"])
    extra = [a for a in args.train_args if a != "--"]
    if "--n_folds" in extra:
        n_folds = int(extra[extra.index("--n_folds") + 1])
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
        C.save_config(cfg, weights / "sweep_config.yaml")
        if (out / "folds.csv").is_file() and not (weights / "folds.csv").is_file():
            shutil.copy(out / "folds.csv", weights / "folds.csv")           # one split for every combination
        print(f"[sweep {i}/{len(combos)}] {name}", flush=True)
        for k in folds:
            train_main(["--config", str(weights / "sweep_config.yaml"), "--data_dir", args.data_dir, "--fold",
                        str(k), "--weights_dir", str(weights), "--resume", *extra])
        if not (out / "folds.csv").is_file():
            shutil.copy(weights / "folds.csv", out / "folds.csv")
        # what was trained: the grid's values and the options after -- (model, size, epochs, ...)
        configs[name] = C.load_config(weights / f"fold_{folds[0]}" / "config.yaml")
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
