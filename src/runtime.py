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


SHM = "/dev/shm"                  # where DataLoader workers put the batches they hand to the main process
SHM_ERRORS = ("shared memory", "no space left on device", "bus error")


def shm_free_bytes(path=SHM):
    """Free bytes of the shared-memory filesystem (``path``), or None when there is none to measure."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def workers_for_shm(workers, batch_bytes, prefetch, free):
    """The most DataLoader workers, up to ``workers``, whose batches in flight fit in ``free`` bytes of shared
    memory: each worker holds ``prefetch`` batches of ``batch_bytes`` and the main process two more (the one
    in use and the next). ``workers`` unchanged when ``free`` is None (not measurable)."""
    if free is None or workers <= 0 or batch_bytes <= 0:
        return workers
    return max(0, min(workers, int((free - 2 * batch_bytes) // (prefetch * batch_bytes))))


def is_shm_error(exc):
    """True for the error of a DataLoader whose workers ran out of shared memory (a RuntimeError or OSError
    naming shared memory, a full device or a bus error)."""
    return isinstance(exc, (RuntimeError, OSError)) and any(k in str(exc).lower() for k in SHM_ERRORS)
