"""One fold of training: split, loop, validation, atomic checkpoints, out-of-fold predictions."""
import logging
import time

import numpy as np
import pandas as pd
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ..loading.dataset import MultiViewDataset
from ..loading.loader import make_loader
from ..metrics.chance import never_learned, not_learned_lines
from ..networks.model import build_model, to_device
from ..networks.provenance import describe
from ..preprocessing.views import input_recipe
from ..tasks import kind_of
from ..utilities import checkpoint as ckpt
from ..utilities import config as C
from ..utilities import distributed as D
from ..utilities import layout
from ..utilities.config import save_config
from ..utilities.errors import UserError
from ..utilities.files import atomic_write_csv, remove_stale_temps
from ..utilities.runtime import add_log_file, seed_everything
from .curves import training_curve
from .interrupts import ctrl_c_after
from .optim import make_ema, train_step, warmup_cosine
from .stopping import EarlyStopping

log = logging.getLogger("harness")


def train_fold_until_learned(cfg, samples, folds, k, weights_dir, device, opts):
    """Train fold k; while it ends inside the chance band and ``train.restarts`` allows another try, move it
    aside to attempts/fold_K_seedS/ (kept, never shipped) and train it again with another seed."""
    restarts = int(cfg["train"]["restarts"])
    while True:
        tried = len(layout.attempts_of(weights_dir, k))
        seed = int(cfg["train"]["seed"]) + 1000 * tried
        summary = train_fold(C.resolved(cfg, {"train.seed": seed}) if tried else cfg, samples, folds, k,
                             weights_dir, device, opts)
        if not never_learned(summary.get("best_score"), summary.get("chance_upper", float("nan"))) \
                or tried >= restarts:
            return summary
        aside = layout.attempt_dir(weights_dir, k, seed)
        if D.is_main():
            aside.parent.mkdir(exist_ok=True)
            layout.fold_dir(weights_dir, k).rename(aside)
        D.barrier()
        log.warning("fold %d: training it again with seed %d (restart %d of %d; this try is kept in %s)",
                    k, seed + 1000, tried + 1, restarts, aside)


def train_fold(cfg, samples, folds, k, weights_dir, device, opts):
    """Train fold k with ``opts`` (training.TrainOptions). Returns the fold summary."""
    out = layout.fold_dir(weights_dir, k)
    if D.is_main():
        out.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(out)
    D.barrier()
    handler = add_log_file(out / "train.log") if D.is_main() else None
    try:
        summary = _train(cfg, samples, folds, k, weights_dir, device, opts)
        for line in not_learned_lines([(k, summary.get("best_score"), summary.get("chance_upper"))]):
            log.warning("%s", line)
        return summary
    finally:
        if handler is not None:
            log.removeHandler(handler)
            handler.close()
        D.barrier()


def _train(cfg, samples, folds, k, weights_dir, device, opts):
    out = layout.fold_dir(weights_dir, k)
    last_path, best_path = layout.last(weights_dir, k), layout.best(weights_dir, k)
    state = None
    if last_path.is_file():
        if not opts.resume:
            raise UserError(f"{out} already holds a run; add --resume to continue it, or choose another "
                            "--weights_dir (nothing is overwritten)")
        state = ckpt.load(last_path)
        if state.get("finished"):
            log.info("fold %d: already finished (%s), skipping", k, last_path)
            return state["summary"]
        saved = C.complete(state["config"])
        if saved != cfg:
            log.warning("fold %d: resuming with the configuration saved in last.pt, not the one given now", k)
        cfg = saved
        log.info("fold %d: resuming after epoch %d", k, state["epoch"])
    elif best_path.is_file():
        raise UserError(f"{best_path} exists without last.pt; choose another --weights_dir (nothing is overwritten)")

    t = cfg["train"]
    seed, epochs, bs = int(t["seed"]), int(t["epochs"]), int(t["batch_size"])
    kind = kind_of(cfg)
    tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
    if samples.labels is not None:
        kind.training_labels(samples.labels[tr])
    main = D.is_main()                     # under torchrun only rank 0 writes files
    if main:
        save_config(cfg, layout.fold_config(weights_dir, k))

    seed_everything(seed + k)
    margs, recipe = kind.model_args(), input_recipe(cfg)
    if state is None:                    # the weights were resolved once for the run (networks/pretrained.py)
        log.info("fold %d: backbone %s starts from %s", k, margs["backbone"],
                 describe(cfg["model"]["imagenet"], "short"))
        model = build_model(margs, pretrained_path=opts.weights.path if opts.weights is not None else None)
    else:
        model = build_model(margs)
    model = to_device(model, device)
    trained = model
    if D.world_size() > 1:
        trained = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    opt = torch.optim.AdamW(model.parameters(), lr=float(t["lr"]), weight_decay=float(t["weight_decay"]))
    cache, target = opts.cache_dir, kind.mask_is_target
    train_ds = MultiViewDataset(samples, tr, cfg, train=True, seed=seed + k, cache_dir=cache, mask_is_target=target)
    val_ds = MultiViewDataset(samples, va, cfg, train=False, cache_dir=cache, mask_is_target=target)
    per_step = bs * D.world_size()
    steps = max(1, len(tr) // per_step if len(tr) > per_step else 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, warmup_cosine(epochs * steps, max(1, int(float(t["warmup_epochs"]) * steps))))
    patience = epochs if t["patience"] is None else int(t["patience"])
    stopper = EarlyStopping(epochs, patience, float(t["min_epochs_fraction"]))
    start, history = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        stopper.load_state_dict(state)
        start, history = state["epoch"], state["history"]
    # the weights' moving average is what is validated, kept and shipped (created after a resume's load)
    ema = make_ema(model, float(t["ema_decay"]), steps)
    if ema is not None and state is not None:
        ema.module.load_state_dict(state["ema"])
    shipped = model if ema is None else ema.module
    accumulate, clip = int(t["accumulate"]), float(t["grad_clip"])

    workers = opts.num_workers
    val_loader = make_loader(val_ds, bs, False, workers, device)
    loader = make_loader(train_ds, bs, True, workers, device, seed=seed + 1000 * k)
    log.info("fold %d: %d train / %d validation samples, %d epochs, batch %d, image %d px", k, len(tr), len(va),
             epochs, bs, cfg["preprocess"]["img_size"])
    n_views = len(C.views(cfg))
    for epoch in range(start, epochs):
        seed_everything(seed + 1000 * k + epoch)
        loader.sampler.set_epoch(epoch)
        trained.train()
        t0, seen, loss_sum = time.time(), 0, torch.zeros((), device=device)
        bar = tqdm(loader, desc=f"fold {k} epoch {epoch + 1}/{epochs}", leave=False, dynamic_ncols=True,
                   disable=None)
        for step, (x, y, _) in enumerate(bar):
            loss = train_step(trained, model, x, y, kind.loss, device, opt, sched, accumulate, clip, ema,
                              step=sched.last_epoch)
            seen += x.shape[0] * D.world_size()
            loss_sum += loss * (x.shape[0] * D.world_size())
            if step % 20 == 0:                       # reading the loss waits for the GPU: not every step
                bar.set_postfix(loss=f"{float(loss_sum) / seen:.4f}")
        loss_sum = float(loss_sum)
        train_s = time.time() - t0
        t1 = time.time()
        v = kind.validate(shipped, val_loader, device, samples, va, k)
        val_s = time.time() - t1
        row = dict(epoch=epoch + 1, train_loss=loss_sum / max(seen, 1), **v.row, lr=opt.param_groups[0]["lr"],
                   train_s=round(train_s, 2), val_s=round(val_s, 2),
                   train_views_per_s=round(seen * n_views / max(train_s, 1e-9), 1))
        history.append(row)
        improved = stopper.update(epoch + 1, v.score)
        if improved and main:
            ckpt.save(dict(kind="best", model=shipped.state_dict(), model_args=margs, config=cfg, input=recipe, fold=k,
                           epoch=epoch + 1, ema=ema is not None, versions=ckpt.versions(), **v.extras), best_path)
            atomic_write_csv(v.oof, layout.oof(weights_dir, k))
        best_epoch = stopper.best_epoch
        log.info("fold %d epoch %d/%d  train_loss %.4f  %s  %.0f views/s%s", k, epoch + 1, epochs,
                 row["train_loss"], v.text, row["train_views_per_s"], "  *best*" if improved else "")
        stop = stopper.should_stop(epoch + 1)
        finished = stop or epoch + 1 == epochs
        summary = dict(fold=k, best_epoch=best_epoch, epochs_run=epoch + 1, best_score=stopper.best[0],
                       chance_upper=v.chance,
                       **{key: val for key, val in history[best_epoch - 1].items() if key.startswith("val_")})
        with ctrl_c_after():                   # a Ctrl-C lands once the epoch's metrics.csv and last.pt agree
            if main:
                atomic_write_csv(pd.DataFrame(history), layout.metrics(weights_dir, k))
                try:                               # a picture never stops a training run
                    training_curve(history, out / "training_curve.png", f"fold {k}: {margs['backbone']}, "
                                   f"{cfg['preprocess']['img_size']} px (best epoch {best_epoch})", best_epoch)
                except Exception as exc:  # noqa: BLE001
                    log.warning("fold %d: training_curve.png not drawn (%s)", k, exc)
                ckpt.save(dict(kind="last", model=model.state_dict(), optimizer=opt.state_dict(),
                               scheduler=sched.state_dict(), config=cfg, fold=k, epoch=epoch + 1,
                               **({} if ema is None else dict(ema=ema.module.state_dict())), **stopper.state_dict(),
                               history=history, finished=finished, summary=summary), last_path)
        if stop:
            log.info("fold %d: early stop, no better validation score for %d epochs", k, stopper.bad)
            break
    return summary
