"""Training that learns on every fold: early stopping waits for late learners, the weight EMA is what ships,
gradient accumulation gives the large batch's update, a fold that never learned is named, and the CV summary
estimates the ensemble's score."""
import copy
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import run, train_args
from src.metrics.chance import auc_chance_upper
from src.metrics.classification import rank_within
from src.networks.model import build_model
from src.tasks import kind_of
from src.training.optim import train_step, warmup_cosine
from src.training.stopping import EarlyStopping
from src.utilities import config as C

# a fold that stays near chance for 8 epochs, then takes off
LATE = [0.50, 0.52, 0.49, 0.51, 0.50, 0.50, 0.48, 0.51, 0.62, 0.75, 0.83, 0.86, 0.85, 0.84, 0.86, 0.85, 0.84, 0.83,
        0.82, 0.81]


def replay(curve, min_epochs_fraction, patience=5):
    stopper = EarlyStopping(len(curve), patience, min_epochs_fraction)
    for epoch, score in enumerate(curve, 1):
        stopper.update(epoch, [score, 0.0])
        if stopper.should_stop(epoch):
            return epoch, stopper
    return len(curve), stopper


def test_a_late_learner_is_not_stopped_during_its_warm_up():
    stopped, old = replay(LATE, 0.0)                      # patience alone: stops before the fold takes off
    assert stopped == 7 and old.best[0] == 0.52
    stopped, new = replay(LATE, 0.5)                      # no stop before half the schedule
    assert new.best_epoch == 12 and new.best[0] == 0.86 and stopped == 17
    again = EarlyStopping(len(LATE), 5, 0.5)              # what --resume restores
    again.load_state_dict(new.state_dict())
    assert (again.best, again.best_epoch, again.bad) == (new.best, new.best_epoch, new.bad)


def test_accumulated_chunks_give_the_large_batch_update():
    cfg = C.resolved(C.load_config(), {"model.backbone": "test_convnext", "model.dropout": 0.0})  # no BatchNorm
    torch.manual_seed(0)
    whole = build_model(kind_of(cfg).model_args())
    chunked = copy.deepcopy(whole)
    x, y = torch.randn(7, 8, 1, 48, 48), (torch.rand(7, 22) < 0.3).float()     # 7 = uneven chunks 3/3/1

    def step(model, accumulate):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)    # an update linear in the gradient
        sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(10, 1))
        return train_step(model, model, x, y, kind_of(cfg).loss, torch.device("cpu"), opt, sched,
                          accumulate, grad_clip=1e9)

    before = [p.detach().clone() for p in whole.parameters()]
    assert float(step(whole, 1)) == pytest.approx(float(step(chunked, 3)), abs=1e-5)
    moved = max((p - b).abs().max().item() for p, b in zip(whole.parameters(), before))
    diff = max((p - q).abs().max().item() for p, q in zip(whole.parameters(), chunked.parameters()))
    assert moved > 1e-3 and diff < 1e-6


def short(demo, weights, *extra, epochs=1, fold="0"):
    return ["--data_dir", demo / "train_set", "--fold", fold, "--weights_dir", weights,
            *train_args(epochs=epochs), *extra]


def test_best_pt_holds_the_ema_weights(demo, tmp_path):
    run("train.py", *short(demo, tmp_path / "w", "--ema_decay", "0.9", "--set", "augment.mirror_p=0.5"))
    best = torch.load(tmp_path / "w" / "fold_0" / "best.pt", weights_only=True)
    last = torch.load(tmp_path / "w" / "fold_0" / "last.pt", weights_only=True)
    assert best["ema"] is True and best["epoch"] == 1 == last["epoch"]
    floats = [k for k, v in best["model"].items() if v.is_floating_point()]
    assert all(torch.equal(best["model"][k], last["ema"][k]) for k in floats)
    assert any(not torch.equal(last["ema"][k], last["model"][k]) for k in floats), "EMA = raw weights"
    saved = C.load_config(tmp_path / "w" / "fold_0" / "config.yaml")
    assert saved["augment"]["mirror_p"] == 0.5 and saved["train"]["ema_decay"] == 0.9


def test_accumulate_through_train_py_matches_the_whole_batch(demo, tmp_path):
    common = ("--model", "test_convnext", "--set", "model.dropout=0", "--batch_size", "6")
    run("train.py", *short(demo, tmp_path / "a", *common, epochs=2))
    run("train.py", *short(demo, tmp_path / "b", *common, "--accumulate", "3", epochs=2))
    a = pd.read_csv(tmp_path / "a" / "fold_0" / "metrics.csv")
    b = pd.read_csv(tmp_path / "b" / "fold_0" / "metrics.csv")
    # AdamW divides by the gradient's running size, so float noise in tiny gradients shows: loose tolerance
    assert np.allclose(a["train_loss"], b["train_loss"], atol=2e-3)
    assert np.allclose(a["val_loss"], b["val_loss"], atol=2e-3)


def test_set_refuses_a_key_the_config_lacks(demo, tmp_path):
    proc = run("train.py", *short(demo, tmp_path / "w", "--set", "train.ema_decy=0.9"), check=False)
    assert proc.returncode == 2 and "no key 'train.ema_decy'" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_fold_trained_on_shuffled_labels_is_named(demo, tmp_path):
    data = tmp_path / "shuffled"
    shutil.copytree(demo / "train_set", data)
    csv = pd.read_csv(data / "train.csv")
    rng = np.random.default_rng(0)
    labels = csv.columns[1:]
    csv[labels] = csv[labels].to_numpy()[rng.permutation(len(csv))]        # rows of labels, other patients
    csv.to_csv(data / "train.csv", index=False)
    weights = tmp_path / "w"
    args = train_args(epochs=1, restarts=1)      # shuffled labels: more epochs would learn nothing either
    proc = run("train.py", "--data_dir", data, "--fold", "all", "--weights_dir", weights, *args)
    summary = json.loads((weights / "cv_summary.json").read_text())
    assert summary["folds_not_learned"], summary["per_fold_primary_auc"]
    for k in summary["folds_not_learned"]:          # each was tried twice; the first try is kept aside
        assert (weights / "attempts" / f"fold_{k}_seed42" / "best.pt").is_file()
        assert C.load_config(weights / f"fold_{k}" / "config.yaml")["train"]["seed"] == 1042
        assert f"fold {k}: training it again with seed 1042" in proc.stdout
    cv_text = proc.stdout[proc.stdout.index("cross-validation summary"):]
    for k in summary["folds_not_learned"]:
        assert f"fold {k} never learned" in cv_text                  # in the CV summary, train.py's last lines
    for k in set(range(3)) - set(summary["folds_not_learned"]):
        assert f"fold {k} never learned" not in proc.stdout


def test_the_cv_summary_estimates_the_ensemble_and_names_no_learned_fold(trained):
    weights, proc = trained
    summary = json.loads((weights / "cv_summary.json").read_text())
    assert set(summary["estimates"]) == {"pooled_oof", "fold_mean", "rank_pooled"}
    assert summary["ensemble_estimate"] == summary["estimates"][summary["ensemble_estimator"]]
    assert summary["folds_not_learned"] == [] and "never learned" not in proc.stdout
    assert "estimate for the 3-fold ensemble" in proc.stdout and "all-zeros baseline" in proc.stdout


def test_chance_band_and_rank_pooling():
    y = np.r_[np.ones(40), np.zeros(40)]
    assert auc_chance_upper(y) == pytest.approx(0.5 + 2.58 * np.sqrt(81 / (12 * 1600)))
    assert auc_chance_upper(np.ones(10)) != auc_chance_upper(np.ones(10))             # one class: NaN
    assert auc_chance_upper(np.r_[np.ones(200), np.zeros(200)]) < auc_chance_upper(y)  # more patients, narrower
    r = rank_within(np.array([0.1, 0.9, 0.5, 10.0, 30.0, 20.0]), np.array([0, 0, 0, 1, 1, 1]))
    assert np.allclose(r, [1 / 3, 1, 2 / 3, 1 / 3, 1, 2 / 3])
