"""One fold of training: split, loop, validation, atomic checkpoints, out-of-fold predictions."""
import logging
import math
import time

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from . import checkpoint as ckpt
from . import config as C
from .config import save_config
from .dataset import MultiViewDataset
from .errors import UserError
from .io_utils import atomic_write_csv, remove_stale_temps
from .metrics import best_thresholds, column_aucs, nanmean
from .model import bce_loss, build_model, model_args
from .predict import logits_of, predict
from .runtime import add_log_file, seed_everything

log = logging.getLogger("harness")


def fold_dir(weights_dir, k):
    return weights_dir / f"fold_{k}"


def make_loader(ds, batch_size, shuffle, workers, device, seed=0):
    gen = torch.Generator()
    gen.manual_seed(seed)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
                      pin_memory=device.type == "cuda", drop_last=shuffle and len(ds) > batch_size,
                      generator=gen)


def warmup_cosine(total_steps, warmup_steps):
    def factor(step):
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))))
    return factor


def train_fold(cfg, samples, folds, k, weights_dir, device, opts):
    """Train fold k. ``opts``: resume, pretrained, pretrained_path, num_workers. Returns the fold summary."""
    out = fold_dir(weights_dir, k)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)
    handler = add_log_file(out / "train.log")
    try:
        return _train(cfg, samples, folds, k, out, device, opts)
    finally:
        log.removeHandler(handler)
        handler.close()


def _val_loss(probs, labels, primary_index, location_weight):
    logits = torch.logit(torch.from_numpy(probs).double().clamp(1e-7, 1 - 1e-7))
    return float(bce_loss(logits, torch.from_numpy(labels), primary_index, location_weight))


def _train(cfg, samples, folds, k, out, device, opts):
    last_path, best_path = out / "last.pt", out / "best.pt"
    state = None
    if last_path.is_file():
        if not opts.resume:
            raise UserError(f"{out} already holds a run; add --resume to continue it, or choose another "
                            "--weights_dir (nothing is overwritten)")
        state = ckpt.load(last_path)
        if state.get("finished"):
            log.info("fold %d: already finished (%s), skipping", k, last_path)
            return state["summary"]
        if state["config"] != cfg:
            log.warning("fold %d: resuming with the configuration saved in last.pt, not the one given now", k)
        cfg = state["config"]
        log.info("fold %d: resuming after epoch %d", k, state["epoch"])
    elif best_path.is_file():
        raise UserError(f"{best_path} exists without last.pt; choose another --weights_dir (nothing is overwritten)")

    t = cfg["train"]
    cols = C.target_columns(cfg)
    locs = C.location_columns(cfg)
    pi = cols.index(C.primary(cfg))
    loc_idx = [cols.index(c) for c in locs]
    seed, epochs, bs = int(t["seed"]), int(t["epochs"]), int(t["batch_size"])
    lw = float(t.get("location_loss_weight", 1.0))
    tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
    save_config(cfg, out / "config.yaml")

    seed_everything(seed + k)
    margs = model_args(cfg)
    if state is None:
        if opts.pretrained_path:
            log.info("backbone: %s, ImageNet weights from %s", margs["backbone"], opts.pretrained_path)
        elif opts.pretrained:
            log.info("backbone: %s, ImageNet weights from timm's hub (needs internet)", margs["backbone"])
        else:
            log.info("backbone: %s from scratch (no --pretrained / --pretrained_path given)", margs["backbone"])
        model = build_model(margs, opts.pretrained, opts.pretrained_path)
    else:
        model = build_model(margs)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=float(t["lr"]), weight_decay=float(t["weight_decay"]))
    train_ds = MultiViewDataset(samples, tr, cfg, train=True, seed=seed + k)
    val_ds = MultiViewDataset(samples, va, cfg, train=False)
    steps = max(1, len(tr) // bs if len(tr) > bs else 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, warmup_cosine(epochs * steps, max(1, int(float(t.get("warmup_epochs", 1)) * steps))))
    start, best, best_epoch, bad, history = 0, [-math.inf, -math.inf], 0, 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start, best, best_epoch = state["epoch"], state["best"], state["best_epoch"]
        bad, history = state["bad_epochs"], state["history"]

    workers = opts.num_workers
    val_loader = make_loader(val_ds, bs, False, workers, device)
    y_val = samples.labels[va]
    log.info("fold %d: %d train / %d validation samples, %d epochs, batch %d, image %d px", k, len(tr), len(va),
             epochs, bs, cfg["preprocess"]["img_size"])
    n_views = len(C.views(cfg))
    for epoch in range(start, epochs):
        seed_everything(seed + 1000 * k + epoch)
        train_ds.set_epoch(epoch)
        loader = make_loader(train_ds, bs, True, workers, device, seed=seed + 1000 * k + epoch)
        model.train()
        t0, seen, loss_sum = time.time(), 0, 0.0
        bar = tqdm(loader, desc=f"fold {k} epoch {epoch + 1}/{epochs}", leave=False, dynamic_ncols=True,
                   disable=None)
        for x, y, _ in bar:
            loss = bce_loss(logits_of(model, x, device), y.to(device), pi, lw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(t.get("grad_clip", 1.0)))
            opt.step()
            sched.step()
            seen += x.shape[0]
            loss_sum += loss.item() * x.shape[0]
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
        train_s = time.time() - t0
        t1 = time.time()
        probs, _, _ = predict([model], val_loader, device)
        val_s = time.time() - t1
        aucs = column_aucs(y_val, probs, cols)
        p_auc, loc_auc = aucs[cols[pi]], nanmean([aucs[c] for c in locs])
        val_loss = _val_loss(probs, y_val, pi, lw)
        # primary AUROC first; validation loss breaks ties (a saturated or undefined AUROC)
        score = [p_auc if p_auc == p_auc else -math.inf, -val_loss]
        row = dict(epoch=epoch + 1, train_loss=loss_sum / max(seen, 1), val_loss=val_loss,
                   val_auc_primary=p_auc, val_mean_location_auc=loc_auc, lr=opt.param_groups[0]["lr"],
                   train_s=round(train_s, 2), val_s=round(val_s, 2),
                   train_views_per_s=round(seen * n_views / max(train_s, 1e-9), 1))
        history.append(row)
        improved = score > best
        if improved:
            best, best_epoch, bad = score, epoch + 1, 0
            thresholds = best_thresholds(y_val[:, loc_idx], probs[:, loc_idx], locs)
            ckpt.save(dict(kind="best", model=model.state_dict(), model_args=margs, config=cfg, fold=k,
                           epoch=epoch + 1, thresholds=thresholds, versions=ckpt.versions(),
                           val_scores=dict(aucs=aucs, primary_auc=p_auc, mean_location_auc=loc_auc,
                                           val_loss=val_loss)), best_path)
            oof = pd.DataFrame({"id": [samples.ids[i] for i in va], "fold": k})
            for j, c in enumerate(cols):
                oof[c] = probs[:, j]
            for j, c in enumerate(cols):
                oof[f"{c}_true"] = y_val[:, j].astype(int)
            atomic_write_csv(oof, out / "oof.csv")
        else:
            bad += 1
        log.info("fold %d epoch %d/%d  train_loss %.4f  val_loss %.4f  val %s AUROC %.4f  mean location AUROC "
                 "%.4f  %.0f views/s%s", k, epoch + 1, epochs, row["train_loss"], val_loss, cols[pi], p_auc,
                 loc_auc, row["train_views_per_s"], "  *best*" if improved else "")
        stop = bad >= int(t.get("patience", epochs))
        finished = stop or epoch + 1 == epochs
        atomic_write_csv(pd.DataFrame(history), out / "metrics.csv")
        best_row = history[best_epoch - 1]
        summary = dict(fold=k, best_epoch=best_row["epoch"], val_auc_primary=best_row["val_auc_primary"],
                       val_mean_location_auc=best_row["val_mean_location_auc"], epochs_run=epoch + 1)
        ckpt.save(dict(kind="last", model=model.state_dict(), optimizer=opt.state_dict(),
                       scheduler=sched.state_dict(), config=cfg, fold=k, epoch=epoch + 1, best=best,
                       best_epoch=best_epoch, bad_epochs=bad, history=history, finished=finished,
                       summary=summary), last_path)
        if stop:
            log.info("fold %d: early stop, no better validation score for %d epochs", k, bad)
            break
    return summary
