"""train(): the cross-validation run under `python train.py` (folds, cache, processes, CV summary), as a
plain function a notebook can call."""
import logging
import sys
from dataclasses import dataclass

from ..data.check import load_checked
from ..data.folds import load_or_make, stratify_labels
from ..loading.dataset import mask_key
from ..networks.pretrained import configure
from ..preprocessing import mask_modes
from ..preprocessing.cache import ViewCache
from ..preprocessing.views import Prep, input_recipe, recipe_differences
from ..tasks import kind_of
from ..utilities import config as C
from ..utilities import distributed as D
from ..utilities import layout
from ..utilities.errors import UserError
from ..utilities.files import writable_folder
from ..utilities.runtime import default_workers, pick_device
from .fold import train_fold_until_learned
from .interrupts import ctrl_c_remembered
from .summary import summarize

log = logging.getLogger("harness")


@dataclass
class TrainOptions:
    """How a fold is trained, beyond its config."""
    resume: bool = False
    weights: object = None            # networks.pretrained.Weights the folds start from; None: from scratch
    num_workers: int = 0
    cache_dir: object = None          # None: every image decoded in every epoch


def task_config(config=None, overrides=None):
    """A task config (a dict, a YAML path or a task name; None: configs/kium.yaml) with ``{'section.key':
    value}`` overrides, checked."""
    cfg = C.complete(config) if isinstance(config, dict) else C.load_config(config)
    cfg = C.resolved(cfg, overrides or {})
    C.validate(cfg)
    kind_of(cfg)
    return cfg


def fold_list(folds, n_folds):
    """'all', an int, a digit string or a list -> the fold numbers; a UserError outside 0..n_folds-1."""
    if folds == "all":
        return list(range(n_folds))
    items = folds if isinstance(folds, (list, tuple)) else [folds]
    out = []
    for f in items:
        if not (isinstance(f, int) or str(f).isdigit()) or not 0 <= int(f) < n_folds:
            raise UserError(f"--fold must be 0..{n_folds - 1} or 'all', not '{folds}'")
        out.append(int(f))
    return out


def check_other_folds(cfg, weights_dir, chosen):
    """Folds of one weights folder are predicted together: a fold about to be trained on other views than the
    folds already there is refused (test.py could not feed them alike), one with another normalisation is said
    (test.py feeds each fold its own). ``chosen``: the folds about to be trained (their own folders are
    resumed with their saved config, or refused as taken)."""
    mine = input_recipe(cfg)
    for path in layout.fold_configs(weights_dir):
        k = path.parent.name.removeprefix("fold_")
        if not k.isdigit() or int(k) in chosen or path.parent.parent != weights_dir:
            continue
        theirs = input_recipe(C.load_config(path))
        differ = recipe_differences(theirs, mine)
        if differ:
            raise UserError(f"{path.parent} in --weights_dir was trained on other views ({'; '.join(differ)}): "
                            "test.py feeds every fold of a folder alike; train into another --weights_dir (or "
                            "blend the two runs)")
        norm = recipe_differences(theirs, mine, ("mean", "std"))
        if norm:
            log.warning("%s was trained with another input normalisation (%s): test.py feeds each fold its own",
                        path.parent, "; ".join(norm))


def build_cache(samples, cfg, cache_dir, workers):
    prep = mask_modes.load_prep(Prep.of(cfg), cfg["model"]["mask_mode"])
    items = [p for row in samples.paths for p in row]
    if samples.mask_paths is not None:
        items += [mask_key(m, row[0], prep) for row, ms in zip(samples.paths, samples.mask_paths) for m in ms if m]
    ViewCache(cache_dir, prep).build(items, workers)


def train(data_dir, config=None, weights_dir=None, folds="all", device="auto", overrides=None, resume=False,
          pretrained=False, pretrained_path=None, num_workers=None, cache_dir=None, no_cache=False,
          spread_folds=False, pretrained_download=False):
    """Train ``folds`` of a task on ``data_dir`` into ``weights_dir`` (default: weights/ of the project).

    pretrained: start from ImageNet weights found offline (else the config's model.pretrained decides);
    pretrained_path: from this file; pretrained_download: may fetch timm's weights when nothing is offline.
    The weights are resolved once, before any file is written (networks/pretrained.py: configure).

    Returns the CV summary once every fold has finished (None before that). A KeyboardInterrupt keeps the
    finished epochs (train again with resume=True) and is raised again after saying so."""
    cfg = task_config(config, overrides)
    if pretrained or pretrained_download:
        cfg = C.resolved(cfg, {"model.pretrained": True})
    cache = C.project_path(cache_dir, C.DEFAULT_CACHE)
    cfg, start = configure(cfg, pretrained_path, pretrained_download, cache,
                                    required=pretrained or pretrained_download)
    weights_dir = C.project_path(weights_dir, C.DEFAULT_WEIGHTS)
    writable_folder(weights_dir, "--weights_dir")          # before the data check and the first epoch
    chosen = fold_list(folds, int(cfg["train"]["n_folds"]))
    if resume or not any(layout.last(weights_dir, k).is_file() for k in chosen):    # a taken fold says so first
        check_other_folds(cfg, weights_dir, chosen)
    if not no_cache:
        writable_folder(cache, "--cache_dir")
    n_folds = int(cfg["train"]["n_folds"])
    chosen = fold_list(folds, n_folds)
    spread = spread_folds and D.launched_world_size() > 1
    if spread_folds and folds != "all":
        raise UserError("--spread_folds spreads the folds of --fold all over the processes; add --fold all")
    if spread_folds and not spread:
        log.warning("--spread_folds: not started by torchrun, so this one process trains every fold")
    device = D.setup(pick_device(device), cpu_group=spread)
    try:
        samples = load_checked(data_dir, cfg, "train")
        weights_dir.mkdir(parents=True, exist_ok=True)
        strat, seed = stratify_labels(samples, cfg), int(cfg["train"]["seed"])
        if D.is_main():                              # rank 0 writes folds.csv; the others then read it
            split = load_or_make(layout.folds_csv(weights_dir), samples.ids, strat, n_folds, seed, samples.groups)
        D.barrier()
        if not D.is_main():
            split = load_or_make(layout.folds_csv(weights_dir), samples.ids, strat, n_folds, seed, samples.groups)
        workers = num_workers if num_workers is not None else cfg["train"]["num_workers"]
        opts = TrainOptions(resume, start, default_workers(workers),
                            None if no_cache else C.project_path(cache_dir, C.DEFAULT_CACHE))
        if opts.cache_dir is not None:
            if D.is_main():
                build_cache(samples, cfg, opts.cache_dir, max(opts.num_workers, 1))
            D.barrier()
        if spread:                                   # whole folds per process; no gradients are shared
            mine = chosen[D.global_rank()::D.world_size()]
            log.setLevel(logging.INFO)
            log.info("spread folds: rank %d trains fold(s) %s on %s", D.global_rank(),
                     ", ".join(map(str, mine)) or "none (more processes than folds)", device)
            with D.solo():
                train_folds(cfg, samples, split, mine, weights_dir, device, opts)
            D.barrier()                              # every rank's folds done: rank 0 writes the CV summary
        else:
            train_folds(cfg, samples, split, chosen, weights_dir, device, opts)
        summary = summarize(weights_dir, cfg, n_folds) if D.is_main() else None
        if summary is None and D.is_main():
            print(f"CV summary: written once all {n_folds} folds have finished (python train.py --fold all "
                  "--resume)")
        return summary
    finally:
        D.cleanup()


def train_folds(cfg, samples, split, chosen, weights_dir, device, opts):
    """Train the folds one after another; on Ctrl-C say where the finished epochs are, then raise again."""
    with ctrl_c_remembered():
        for k in chosen:
            try:
                train_fold_until_learned(cfg, samples, split, k, weights_dir, device, opts)
            except KeyboardInterrupt:
                last = layout.last(weights_dir, k)
                done = f"fold {k}'s finished epochs are saved in {last}" if last.is_file() else \
                    f"fold {k} had no finished epoch yet"
                print(f"interrupted: {done}; run the same command with --resume to continue", file=sys.stderr)
                raise
