"""Does every fold learn, and which CV number predicts the ensemble?
`python -m src.tools.experiments.stability --runs R1 R2 ...`

Reads finished runs (typically one configuration trained with several --seed values; scripts/stability.sh
does that for recipe variants), predicts one fresh held-out set from the same synthetic generator
with each run's fold ensemble (test.py's code path) and prints, per run and over all of them:
the share of folds whose best validation AUROC clears the chance band, the spread of the per-fold AUROC,
and for each CV estimate (pooled out-of-fold, mean of the folds, rank-pooled) its gap to the held-out score.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ...utilities import layout
from ...utilities.cli import command_parser
from ...utilities.errors import UserError, run_cli
from ...utilities.files import atomic_write_csv
from ...utilities.runtime import setup_logging
from .honesty import add_heldout_args, heldout_table


def run_row(weights, out, args):
    summary_path = layout.summary(weights)
    if not summary_path.is_file():
        raise UserError(f"{summary_path} not found: every run must have finished all its folds")
    cv = json.loads(summary_path.read_text())
    if "per_fold_chance_upper" not in cv:
        raise UserError(f"{summary_path} has no chance band per fold: not a binary task's summary, or written by "
                        "an older train.py (rerun train.py --fold all --resume to rewrite it)")
    table, _ = heldout_table(weights, out, args.n_test, args.seed, args.size_range, args.lesion_scale,
                             args.device, args.num_workers)
    held = float(table["held_out"].iloc[0])
    aucs, chance = np.array(cv["per_fold_primary_auc"]), np.array(cv["per_fold_chance_upper"])
    row = dict(run=str(weights), folds=len(aucs), folds_learned=int((aucs > chance).sum()),
               fold_sd=float(np.std(aucs)), per_fold=" / ".join(f"{a:.3f}" for a in aucs), held_out=held)
    for name, value in cv["estimates"].items():
        row[name] = value
        row[f"gap_{name}"] = value - held
    return row


def main(argv=None):
    # scripts/stability.sh runs recipe variants x seeds this way
    p = command_parser("Fold stability and CV-estimate gaps over several finished runs.",
                       "python -m src.tools.experiments.stability --runs runs/stability/defaults/seed* --n_test 300 "
                       "--seed 2026 --size_range 256 384 --lesion_scale 2")
    p.add_argument("--runs", nargs="+", required=True, help="finished weights folders (each with cv_summary.json)")
    add_heldout_args(p, "runs/stability")
    args = p.parse_args(argv)
    setup_logging()
    out = Path(args.out)
    rows = pd.DataFrame([run_row(w, out, args) for w in args.runs])
    atomic_write_csv(rows, out / "stability.csv")
    names = [c[4:] for c in rows.columns if c.startswith("gap_")]
    print(f"\nfold stability and CV estimates against a fresh held-out set ({args.n_test} samples, seed {args.seed}):")
    print(rows.drop(columns=["run"]).assign(run=[Path(r).name for r in rows["run"]])
          .to_string(index=False, float_format="%.4f"))
    learned, total = int(rows["folds_learned"].sum()), int(rows["folds"].sum())
    print(f"folds that learned (best validation AUROC above the chance band): {learned}/{total} "
          f"({learned / total:.0%}); mean fold sd {rows['fold_sd'].mean():.4f}; "
          f"mean held-out {rows['held_out'].mean():.4f}")
    for name in names:
        gaps = rows[f"gap_{name}"]
        print(f"  estimate {name:<12} mean {rows[name].mean():.4f}  gap to held-out: mean {gaps.mean():+.4f}, "
              f"mean |gap| {gaps.abs().mean():.4f}, worst {gaps.abs().max():.4f}")
    return 0


if __name__ == "__main__":
    run_cli(main)
