"""One optimisation step (with gradient accumulation), the learning-rate schedule and the weight EMA."""
import math
from contextlib import nullcontext

import torch
from timm.utils import ModelEmaV3
from torch.nn.parallel import DistributedDataParallel

from ..networks.forward import logits_of


def warmup_cosine(total_steps, warmup_steps):
    def factor(step):
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))))
    return factor


def make_ema(model, decay, steps_per_epoch):
    """timm's ModelEmaV3 of ``model`` (None when ``decay`` is 0).

    The decay warms up (1 - (1 + step)^-3/4), so the first epochs are not tied to the random initialisation,
    and it is capped at ``decay`` and at 1 - 1/steps_per_epoch: the average then spans about one epoch of
    steps or less on any data size, instead of lagging many epochs behind a small data set's fold that learns
    late. The weights are float32 under autocast, and so is their average.
    """
    if not decay:
        return None
    cap = min(float(decay), 1.0 - 1.0 / max(2, int(steps_per_epoch)))
    return ModelEmaV3(model, decay=cap, use_warmup=True, warmup_power=3 / 4)


def train_step(trained, model, x, y, loss_fn, device, opt, sched, accumulate=1, grad_clip=1.0, ema=None,
               step=None):
    """One optimiser step on the batch (x, y) (y a tensor or a tuple of tensors); returns its mean loss as a 0-d
    tensor on ``device`` (reading it waits for the GPU, so the caller decides when).

    ``accumulate`` > 1 runs the batch through the network in that many chunks, each loss weighted by its share
    of the batch and the gradients summed before the step: the same update as the whole batch at once
    (BatchNorm statistics aside), with a fraction of the activation memory.
    """
    opt.zero_grad(set_to_none=True)
    n = x.shape[0]
    size = math.ceil(n / max(1, int(accumulate)))
    parts = list(zip(x.split(size), y.split(size) if torch.is_tensor(y) else zip(*(t.split(size) for t in y))))
    total = torch.zeros((), device=device)
    for i, (xc, yc) in enumerate(parts):
        last = i == len(parts) - 1                 # under DDP the gradients are all-reduced once, at the end
        sync = nullcontext() if last or not isinstance(trained, DistributedDataParallel) else trained.no_sync()
        with sync:
            yc = yc.to(device) if torch.is_tensor(yc) else tuple(t.to(device) for t in yc)
            loss = loss_fn(logits_of(trained, xc, device), yc) * (xc.shape[0] / n)
            loss.backward()
        total += loss.detach()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    sched.step()
    if ema is not None:
        ema.update(model, step=step)
    return total
