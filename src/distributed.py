"""torchrun support: one process per GPU (or CPU process with gloo), rank 0 writes, validation is gathered.

`torchrun --nproc_per_node N train.py --fold K ...` trains fold K with DistributedDataParallel. Every rank
runs the same code; only rank 0 writes files and logs at INFO; validation predictions of all ranks are
gathered so that every rank computes the same scores on all validation samples (and stops at the same epoch).
"""
import logging
import os

import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger("harness")


def world_size():
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank():
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main():
    return rank() == 0


def setup(device):
    """Join the process group when started by torchrun; returns the device this rank uses."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
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
