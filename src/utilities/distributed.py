"""torchrun support: one process per GPU (or CPU process with gloo), rank 0 writes, validation is gathered.

`torchrun --nproc_per_node N train.py --fold K ...` trains fold K with DistributedDataParallel. Every rank
runs the same code; only rank 0 writes files and logs at INFO; validation predictions of all ranks are
gathered so that every rank computes the same scores on all validation samples (and stops at the same epoch).
`--fold all --spread_folds` instead gives each process whole folds (fold k on rank k mod N), trained alone.
"""
import contextlib
import datetime
import logging
import os

import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger("harness")


_solo = False


@contextlib.contextmanager
def solo():
    """Inside, this process works alone (its own folds): world size 1, rank 0, it writes its own files."""
    global _solo
    before, _solo = _solo, True
    try:
        yield
    finally:
        _solo = before


def world_size():
    if _solo:
        return 1
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank():
    if _solo:
        return 0
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def global_rank():
    """This process's rank under torchrun, also inside ``solo``."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def launched_world_size():
    """Processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main():
    return rank() == 0


def setup(device, cpu_group=False):
    """Join the process group when started by torchrun; returns the device this rank uses.

    cpu_group: a gloo group even on GPUs (only barriers, no tensors: the spread-folds mode)."""
    if launched_world_size() <= 1 or dist.is_initialized():
        return device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if cpu_group:       # its only barrier waits for the slowest rank's folds: hours, not the default 30 min
        dist.init_process_group(backend="gloo", timeout=datetime.timedelta(hours=72))
    else:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    log.info("distributed: %d processes (%s backend)", world_size(), dist.get_backend())
    return device


def barrier():
    if world_size() > 1:
        dist.barrier()


def gather(order, *arrays):
    """Rows of every rank, one per dataset index (a DistributedSampler pads with repeats), sorted by index."""
    if world_size() > 1:
        parts = [None] * world_size()
        dist.all_gather_object(parts, (order, *arrays))
        order = np.concatenate([p[0] for p in parts])
        arrays = [np.concatenate([p[i + 1] for p in parts]) for i in range(len(arrays))]
    order = np.asarray(order)
    _, first = np.unique(order, return_index=True)
    return [np.asarray(a)[first] for a in arrays]


def cleanup():
    if world_size() > 1:
        dist.destroy_process_group()
