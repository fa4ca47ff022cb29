"""Does masking help? `python -m src.tools.measure_masking --data_dir DIR/train_set`

Trains the masked chest-X-ray classifier once per mask mode (none = the unmasked image, masked, channel,
pool) over the same folds and prints the out-of-fold scores side by side; writes them as CSV and Markdown.
"""
import argparse
import json
import time
from pathlib import Path

import pandas as pd

from .. import config as C
from .. import layout
from ..errors import UserError, run_cli
from ..io_utils import atomic_write_csv, atomic_write_text
from ..training import train

MODES = ["none", "masked", "channel", "pool"]


def main(argv=None):
    p = argparse.ArgumentParser(description="Train unmasked vs masked (each mask mode) and compare OOF AUROC.",
                                epilog="example:\n  python -m src.tools.demo_data --task cxr --out cxr --n_train 400\n"
                                       "  python -m src.tools.measure_masking --data_dir cxr/train_set "
                                       "--out runs/masking",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", required=True, help="training folder (images/, masks/, train.csv)")
    p.add_argument("--config", default=str(C.PROJECT_ROOT / "configs" / "cxr_masked.yaml"))
    p.add_argument("--out", default="runs/masking", help="work folder: one weights folder per mode + results")
    p.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {','.join(MODES)}")
    p.add_argument("--model")
    p.add_argument("--img_size", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch_size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--n_folds", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--num_workers", type=int)
    args = p.parse_args(argv)
    modes = args.modes.split(",")
    if set(modes) - set(MODES):
        raise UserError(f"unknown mask modes {sorted(set(modes) - set(MODES))} (choose from {MODES})")
    out = Path(args.out)
    base = C.load_config(args.config)
    sizes = {"model": "model.backbone", "img_size": "preprocess.img_size", "epochs": "train.epochs",
             "batch_size": "train.batch_size", "lr": "train.lr", "n_folds": "train.n_folds"}
    overrides = {key: getattr(args, opt) for opt, key in sizes.items() if getattr(args, opt) is not None}
    rows = []
    for mode in modes:
        cfg = C.resolved(base, {**overrides, "model.mask_mode": mode})
        C.save_config(cfg, out / f"config_{mode}.yaml")
        t0 = time.time()
        weights = out / f"weights_{mode}"
        train(args.data_dir, cfg, weights, "all", args.device, resume=True, num_workers=args.num_workers)
        summary = json.loads(layout.summary(weights).read_text())
        rows.append(dict(mask_mode=mode, oof_mean_auc=summary["oof_mean_auc"], oof_accuracy=summary["oof_accuracy"],
                         **{f"auc_{c}": a for c, a in summary["oof_aucs"].items()},
                         fold_mean_auc_sd=pd.Series(summary["per_fold_mean_auc"]).std(),
                         wall_s=round(time.time() - t0, 1)))
    table = pd.DataFrame(rows)
    atomic_write_csv(table, out / "masking_results.csv")
    atomic_write_text(out / "masking_results.md", markdown(table))
    print("\nmask mode comparison (out-of-fold, same folds):\n" + table.to_string(index=False, float_format="%.4f"))
    return 0


def markdown(table):
    def cell(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    run_cli(main)
