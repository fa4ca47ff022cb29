"""Choose an ensemble of runs on their out-of-fold predictions and ship it as one weights folder:
`python -m src.tools.experiments.blend --runs runs/sweep/* --out weights_ensemble [--average probability|rank]`.

Members and weights by greedy forward selection with replacement (Caruana et al. 2004) on the task's headline
score (the first column of its leaderboard: Aneurysm AUROC for K-ium, mean one-vs-rest AUROC for the CXR grade),
starting from the best single run. A blend chosen on the OOF predictions it is then scored on flatters itself,
so a nested estimate is printed beside that score: for each fold k the blend is chosen on the other folds' OOF
and scores fold k. Every run must have been trained on one shared folds.csv (a sweep's runs are).
"""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ...inference.blend import AVERAGES, FORMAT, combine
from ...tasks import kind_of
from ...tasks.base import Classification
from ...training.summary import read_oof
from ...utilities import config as C
from ...utilities import layout
from ...utilities.cli import command_parser
from ...utilities.errors import UserError, run_cli
from ...utilities.files import atomic_write_text
from ...utilities.runtime import setup_logging


def read_run(path):
    """(config, folds table, OOF table) of a finished run."""
    path = Path(path)
    if layout.ensemble(path).is_file():
        raise UserError(f"{path} is an ensemble already; blend the runs it was made from")
    configs = layout.fold_configs(path)
    if not layout.summary(path).is_file() or not configs:
        raise UserError(f"{path} is not a finished run (no cv_summary.json): train every fold first")
    cfg = C.load_config(configs[0])
    folds = pd.read_csv(layout.folds_csv(path), dtype={"id": str}).sort_values("id", ignore_index=True)
    return cfg, folds, read_oof(path, range(int(cfg["train"]["n_folds"])))


def load_runs(paths):
    """{name: (path, config, OOF table aligned on the first run's rows)}; one shared split and task, or a
    one-line UserError naming the run that differs."""
    runs, first = {}, None
    for path in paths:
        cfg, folds, oof = read_run(path)
        if first is None:
            first = (Path(path), cfg, folds, oof)
        elif not folds.equals(first[2]):
            raise UserError(f"{path} was trained on another folds.csv than {first[0]}; a blend needs one shared "
                            "split (train every run into a folder that holds a copy of the same folds.csv)")
        elif (cfg["task"], C.target_columns(cfg)) != (first[1]["task"], C.target_columns(first[1])):
            raise UserError(f"{path} belongs to another task than {first[0]}")
        name, n = Path(path).name, 1
        while name in runs:
            n += 1
            name = f"{Path(path).name}_{n}"
        runs[name] = (Path(path), cfg, oof.set_index("id").loc[first[3]["id"]].reset_index())
    return runs


def make_scorer(kind, base):
    """score(probs (n, T), rows) -> the task's headline score of those out-of-fold rows."""
    def score(probs, rows):
        frame = base.loc[rows].copy()
        frame[kind.cols] = probs[rows]
        return kind.headline(frame)
    return score


def select(preds, score, rows, folds, average, rounds, max_members):
    """Caruana's forward selection with replacement on ``rows``: (weights per run, score of the best prefix)."""
    counts = np.zeros(len(preds))
    singles = [score(p, rows) for p in preds]
    counts[int(np.nanargmax(singles))] = 1
    best = (np.nanmax(singles), counts.copy())
    for _ in range(rounds - 1):
        used = np.flatnonzero(counts)
        allowed = range(len(preds)) if len(used) < max_members else used
        trials = []
        for i in allowed:
            trial = counts.copy()
            trial[i] += 1
            nz = np.flatnonzero(trial)
            trials.append((score(combine([preds[j] for j in nz], trial[nz], average, folds), rows), trial))
        value, counts = max(trials, key=lambda t: t[0])
        if value > best[0]:
            best = (value, counts.copy())
    return best[1] / best[1].sum(), best[0]


def blend_of(preds, weights, average, folds):
    nz = np.flatnonzero(weights)
    return combine([preds[j] for j in nz], weights[nz], average, folds)


def choose(runs, average="probability", rounds=20, max_members=5):
    """The blend of ``runs`` (load_runs) chosen on all OOF rows, with the scores that judge it."""
    names = list(runs)
    cfg = runs[names[0]][1]
    kind = kind_of(cfg)
    if not isinstance(kind, Classification):
        raise UserError(f"a {kind.name} task has no out-of-fold probability table to blend")
    base = runs[names[0]][2][["id", "fold"] + [f"{c}_true" for c in kind.cols]]
    preds = [runs[n][2][kind.cols].to_numpy(float) for n in names]
    folds, every = base["fold"].to_numpy(), np.ones(len(base), bool)
    score = make_scorer(kind, base)
    weights, optimistic = select(preds, score, every, folds, average, rounds, max_members)
    nested = np.zeros_like(preds[0])
    for k in np.unique(folds):
        w_k, _ = select(preds, score, folds != k, folds, average, rounds, max_members)
        nested[folds == k] = blend_of(preds, w_k, average, folds)[folds == k]
    singles = {n: score(p, every) for n, p in zip(names, preds)}
    blended = base.copy()
    blended[kind.cols] = blend_of(preds, weights, average, folds)
    return dict(kind=kind, cfg=cfg, names=names, weights=weights, singles=singles, blend_oof=optimistic,
                nested=score(nested, every), constant=score(np.zeros_like(preds[0]), every), oof=blended)


def ship(runs, chosen, out, average):
    """Write the ensemble weights folder: manifest, shared folds.csv, the blend's CV summary, members' folds."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} already holds files; choose another --out (nothing is overwritten)")
    members = []
    for name, w in zip(chosen["names"], chosen["weights"]):
        if w <= 0:
            continue
        src, cfg, _ = runs[name]
        for ckpt in layout.best_checkpoints(src):
            target = layout.member_dir(out, name) / ckpt.parent.name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ckpt, target / "best.pt")
            if (ckpt.parent / "config.yaml").is_file():
                shutil.copy2(ckpt.parent / "config.yaml", target / "config.yaml")
        members.append(dict(name=name, weight=round(float(w), 6), source=str(src.resolve()),
                            backbone=cfg["model"]["backbone"], img_size=cfg["preprocess"]["img_size"]))
    shutil.copy2(layout.folds_csv(runs[chosen["names"][0]][0]), layout.folds_csv(out))
    summary, text = chosen["kind"].summarize(chosen["oof"])
    scores = {k: chosen[k] for k in ("blend_oof", "nested", "constant")}
    summary["ensemble"] = dict(members=members, average=average, scores=scores, single_runs=chosen["singles"])
    atomic_write_text(layout.summary(out), json.dumps(summary, indent=2))
    atomic_write_text(layout.ensemble(out), json.dumps(dict(format=FORMAT, task=chosen["cfg"]["task"],
                                                            average=average, members=members, scores=scores,
                                                            config=chosen["cfg"]), indent=2))
    return members, text


def main(argv=None):
    p = command_parser("Choose a weighted blend of runs on their out-of-fold predictions (Caruana forward "
                       "selection) and write it as one weights folder.",
                       "python -m src.tools.experiments.blend --runs runs/sweep/* --out weights_ensemble",
                       "python test.py --data_dir test_set --weights_dir weights_ensemble")
    p.add_argument("--runs", nargs="+", required=True, help="finished runs trained on one shared folds.csv")
    p.add_argument("--out", required=True, help="the ensemble weights folder to write (must be new or empty)")
    p.add_argument("--average", choices=AVERAGES, default="probability",
                   help="average probabilities, or ranks (per column; within each fold for the OOF choice)")
    p.add_argument("--max_members", type=int, default=5, help="at most this many distinct runs")
    p.add_argument("--rounds", type=int, default=20, help="selection steps (a run may be picked again)")
    args = p.parse_args(argv)
    setup_logging()
    if args.max_members < 1 or args.rounds < 1:
        raise UserError("--max_members and --rounds must be at least 1")
    runs = load_runs(args.runs)
    chosen = choose(runs, args.average, args.rounds, args.max_members)
    members, text = ship(runs, chosen, args.out, args.average)
    best = max(chosen["singles"], key=chosen["singles"].get)
    print("\n".join(f"  run {n}: {s:.4f}" for n, s in chosen["singles"].items()))
    print(f"best single run: {best} {chosen['singles'][best]:.4f}")
    parts = ", ".join(f"{m['name']} x{m['weight']:.2f}" for m in members)
    print(f"blend ({parts}): {chosen['blend_oof']:.4f} "
          "(chosen and scored on the same out-of-fold predictions: optimistic)")
    print(f"nested estimate: {chosen['nested']:.4f} (each fold scored by a blend chosen on the other folds)")
    print(f"constant prediction (all zeros): {chosen['constant']:.4f}")
    if chosen["nested"] < chosen["singles"][best]:
        print(f"WARNING: the nested estimate of the blend ({chosen['nested']:.4f}) is below the best single run's "
              f"out-of-fold score ({chosen['singles'][best]:.4f}): the blend's gain is selection noise; ship {best}")
    print(f"the blend's {text}")
    print(f"wrote {args.out}; predict with: python test.py --data_dir TEST_FOLDER --weights_dir {args.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
