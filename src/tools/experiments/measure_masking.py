"""Does masking help?
`python -m src.tools.experiments.measure_masking --data_dir DIR/train_set [--test_dir DIR/test_set --gt F]`

Trains the masked chest-X-ray classifier once per mask mode (none = the unmasked image, masked, channel, pool,
crop, swap) over the same folds and prints the out-of-fold scores side by side; with a labelled test folder
also each mode's test score and CV minus test. Writes them as CSV and Markdown. When the unmasked image's CV
beats a mask mode's by more than the fold spread, it says so (and writes it into that run's cv_summary.json): something
outside the mask is doing the work, context or a shortcut that need not hold on another hospital's films.
"""
import json
import time
from pathlib import Path

import pandas as pd

from ...evaluation.evaluate import evaluate
from ...inference.predict import predict
from ...preprocessing.mask_modes import MODES
from ...training.cross_validation import train
from ...utilities import config as C
from ...utilities import layout
from ...utilities.cli import command_parser
from ...utilities.errors import UserError, run_cli
from ...utilities.files import atomic_write_csv, atomic_write_text


def main(argv=None):
    p = command_parser("Train unmasked vs masked (each mask mode) and compare OOF AUROC.",
                       "python -m src.tools.demo --task cxr --out cxr --n_train 400",
                       "python -m src.tools.experiments.measure_masking --data_dir cxr/train_set --out runs/masking")
    p.add_argument("--data_dir", required=True, help="training folder (images/, masks/, train.csv)")
    p.add_argument("--config", default=str(C.PROJECT_ROOT / "configs" / "cxr_masked.yaml"))
    p.add_argument("--out", default="runs/masking", help="work folder: one weights folder per mode + results")
    p.add_argument("--test_dir", help="a test folder to predict with each mode (images/, test.csv; masks/ optional)")
    p.add_argument("--gt", help="its ground truth (groundtruth.csv); with --test_dir: test score, CV minus test")
    p.add_argument("--mask_weights", help="lung segmenter for test images without masks (default: the config's)")
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
        raise UserError(f"unknown mask modes {sorted(set(modes) - set(MODES))} (choose from {', '.join(MODES)})")
    if bool(args.test_dir) != bool(args.gt):
        raise UserError("--test_dir and --gt go together (the test folder and its groundtruth.csv)")
    out = Path(args.out)
    base = C.load_config(args.config)
    sizes = {"model": "model.backbone", "img_size": "preprocess.img_size", "epochs": "train.epochs",
             "batch_size": "train.batch_size", "lr": "train.lr", "n_folds": "train.n_folds"}
    overrides = {key: getattr(args, opt) for opt, key in sizes.items() if getattr(args, opt) is not None}
    rows = []
    for mode in modes:
        cfg = C.resolved(base, {**overrides, "model.mask_mode": mode})
        config_path = out / f"config_{mode}.yaml"
        C.save_config(cfg, config_path)
        t0 = time.time()
        weights = out / f"weights_{mode}"
        train(args.data_dir, cfg, weights, "all", args.device, resume=True, num_workers=args.num_workers)
        summary = json.loads(layout.summary(weights).read_text())
        row = dict(mask_mode=mode, oof_mean_auc=summary["oof_mean_auc"], oof_accuracy=summary["oof_accuracy"],
                   **{f"auc_{c}": a for c, a in summary["oof_aucs"].items()},
                   fold_mean_auc_sd=pd.Series(summary["per_fold_mean_auc"]).std(), wall_s=round(time.time() - t0, 1))
        if args.test_dir:
            pred = out / f"output_{mode}.csv"
            predict(args.test_dir, weights, pred, args.device, mask_weights=args.mask_weights,
                    num_workers=args.num_workers)
            row["test_mean_auc"] = evaluate(pred, args.gt, config_path, n_boot=0)["mean_auc"]
            row["cv_minus_test"] = row["oof_mean_auc"] - row["test_mean_auc"]
        rows.append(row)
    table = pd.DataFrame(rows)
    checks = masking_checks(table)
    for mode, check in checks.items():
        path = layout.summary(out / f"weights_{mode}")
        atomic_write_text(path, json.dumps({**json.loads(path.read_text()), "masking_check": check}, indent=2))
    atomic_write_csv(table, out / "masking_results.csv")
    notes = "".join(f"\n{c['text']}\n" for c in checks.values())
    atomic_write_text(out / "masking_results.md", markdown(table) + notes)
    print("\nmask mode comparison (out-of-fold, same folds):\n" + table.to_string(index=False, float_format="%.4f"))
    for check in checks.values():
        print(check["text"])
    return 0


def masking_checks(table):
    """{mode: check} of each mask mode against the unmasked image ('none'), when both were trained: the gap of
    their out-of-fold scores, the fold spread (the larger of the two runs' per-fold sd) and whether the unmasked
    image is ahead by more than that spread."""
    rows = table.set_index("mask_mode")
    if "none" not in rows.index:
        return {}
    out = {}
    for mode in rows.index.drop("none"):
        gap = float(rows.loc["none", "oof_mean_auc"] - rows.loc[mode, "oof_mean_auc"])
        spread = float(max(rows.loc["none", "fold_mean_auc_sd"], rows.loc[mode, "fold_mean_auc_sd"]))
        flag = gap > spread
        text = (f"{'WARNING: ' if flag else ''}unmasked image {rows.loc['none', 'oof_mean_auc']:.4f} vs mask mode "
                f"{mode} {rows.loc[mode, 'oof_mean_auc']:.4f}: gap {gap:+.4f}, fold spread {spread:.4f}"
                + ("; something outside the mask is doing part of the work (context the mask removes, or a "
                   "shortcut such as tags and lines that need not hold on another hospital's films): the "
                   "unmasked CV can over-promise" if flag else ""))
        out[mode] = dict(unmasked_oof=float(rows.loc["none", "oof_mean_auc"]), gap=gap, fold_sd=spread,
                         flag=bool(flag), text=text)
    return out


def markdown(table):
    def cell(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    run_cli(main)
