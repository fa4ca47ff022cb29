"""Batches of a Dataset: the epoch sampler (the epoch travels with each index, so seeded augmentation knows it
while the workers live on), and the DataLoader, whose worker processes are sized to the free shared memory
(/dev/shm) and dropped mid-pass, without repeating or skipping a batch, when they run out of it anyway."""
import logging
import os

import cv2
import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from ..utilities import distributed as D

log = logging.getLogger("harness")

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


class EpochSampler(Sampler):
    """The indices of one epoch as (index, epoch) pairs, shuffled with a seed per epoch (under torchrun each
    rank's shard, as DistributedSampler deals them). The epoch travels with the index, so the dataset's seeded
    augmentation knows it while the DataLoader's workers stay alive from one epoch to the next."""

    def __init__(self, n, shuffle, seed):
        self.n, self.shuffle, self.seed, self.epoch = n, shuffle, seed, 0
        self.dist = None
        if D.world_size() > 1:
            self.dist = DistributedSampler(range(n), shuffle=shuffle, seed=seed, drop_last=shuffle)

    def set_epoch(self, epoch):
        self.epoch = epoch
        if self.dist is not None:
            self.dist.set_epoch(epoch)

    def __iter__(self):
        if self.dist is not None:
            order = list(self.dist)
        elif self.shuffle:
            order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + self.epoch)).tolist()
        else:
            order = range(self.n)
        return iter([(i, self.epoch) for i in order])

    def __len__(self):
        return len(self.dist) if self.dist is not None else self.n


def worker_init(_):
    cv2.setNumThreads(1)          # one decoding/augmenting thread per worker: no oversubscription of the cores


PREFETCH = 2                      # batches each worker prepares ahead (DataLoader's prefetch_factor)
_shm = {"failed": False, "warned": False}      # this process: workers ran out of shared memory / were reduced


def make_loader(ds, batch_size, shuffle, workers, device, seed=0):
    """A loader over (index, epoch) pairs whose workers live as long as it does; call
    ``loader.sampler.set_epoch(e)`` before each epoch of training. Its workers are fewer (none) when their
    batches in flight would not fit in the free shared memory (/dev/shm), with one warning; see Loader."""
    sampler = EpochSampler(len(ds), shuffle, seed)
    drop = shuffle and len(ds) > batch_size * D.world_size()
    batch_bytes = ds.sample_bytes() * batch_size
    fit = 0 if _shm["failed"] else workers_for_shm(workers, batch_bytes, PREFETCH, shm_free_bytes())
    if fit < workers and not _shm["warned"]:
        _shm["warned"] = True
        log.warning("shared memory: %s has %.0f MB free, %d workers need about %.0f MB for their batches in flight: "
                    "using %d (give the container more, e.g. docker run --shm-size=2g)", SHM,
                    shm_free_bytes() / 2**20, workers, (PREFETCH * workers + 2) * batch_bytes / 2**20, fit)
    return Loader(ds, batch_size, sampler, fit, device.type == "cuda", drop)


class Loader:
    """A DataLoader (batches of ``sampler``'s order) whose workers can be dropped mid-pass: when they run out
    of shared memory, one warning, and the pass goes on from the batch that failed without worker processes.
    The batches are the same either way (the sampler and the dataset's per-(seed, epoch, sample) draws decide
    them), so a prediction or a training epoch neither repeats nor skips a batch; later passes go without."""

    def __init__(self, ds, batch_size, sampler, workers, pin, drop):
        self.dataset, self.batch_size, self.sampler, self.pin, self.drop = ds, batch_size, sampler, pin, drop
        self.workers = workers
        self.loader = self._build(sampler, workers)

    def _build(self, sampler, workers):
        return DataLoader(self.dataset, batch_size=self.batch_size, sampler=sampler, num_workers=workers,
                          pin_memory=self.pin, drop_last=self.drop, persistent_workers=workers > 0,
                          worker_init_fn=worker_init if workers > 0 else None,
                          prefetch_factor=PREFETCH if workers > 0 else None)

    def __len__(self):
        return len(self.loader)

    def _drop_workers(self):
        iterator = getattr(self.loader, "_iterator", None)
        if iterator is not None and hasattr(iterator, "_shutdown_workers"):
            iterator._shutdown_workers()
        self.workers, self.loader = 0, self._build(self.sampler, 0)

    def __iter__(self):
        if self.workers and _shm["failed"]:              # another loader's workers ran out already
            self._drop_workers()
        done = 0
        try:
            for batch in self.loader:
                yield batch
                done += 1
        except (RuntimeError, OSError) as exc:
            if self.workers == 0 or not is_shm_error(exc):
                raise
            log.warning("shared memory: DataLoader workers ran out of it (%s); going on from batch %d without worker "
                        "processes, here and in later loaders (slower; give the container more, e.g. docker run "
                        "--shm-size=2g)", str(exc).strip().splitlines()[-1][:120], done + 1)
            _shm["failed"] = _shm["warned"] = True
            self._drop_workers()
            yield from self._build(list(self.sampler)[done * self.batch_size:], 0)
