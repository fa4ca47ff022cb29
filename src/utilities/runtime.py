"""Process set-up shared by the entry points: logging, device choice, seeding, offline switches."""
import logging
import os
import random
import sys

import numpy as np

from .errors import UserError

log = logging.getLogger("harness")


def setup_logging():
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(levelname).1s %(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    # under torchrun only rank 0 reports progress; the other ranks say only what goes wrong
    log.setLevel(logging.INFO if int(os.environ.get("RANK", "0")) == 0 else logging.WARNING)
    log.propagate = False


def add_log_file(path):
    """Also log to ``path`` (appending); returns the handler so the caller can remove it."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return handler


def pick_device(name="auto"):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            dev = torch.device("cuda")
            log.info("device: cuda (%s)", torch.cuda.get_device_name(0))
        else:
            dev = torch.device("cpu")
            log.info("device: no GPU found, running on the CPU")
        return dev
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA GPU is available; use --device auto or cpu")
    if name not in ("cpu", "cuda"):
        raise UserError(f"unknown --device '{name}' (auto | cpu | cuda)")
    log.info("device: %s", name)
    return torch.device(name)


def seed_everything(seed):
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_workers(requested):
    if requested is not None:
        return max(0, int(requested))
    return min(4, os.cpu_count() or 1)
