"""The trained folds of a weights folder as one ensemble: their checkpoints, checked to belong to one task,
and the networks rebuilt from them (no code is unpickled; weights only)."""
import logging

from ..networks.model import build_model, to_device
from ..utilities import checkpoint as ckpt
from ..utilities import config as C
from ..utilities import layout
from ..utilities.errors import UserError

log = logging.getLogger("harness")


def load_folds(weights_dir):
    """(checkpoints, task config) of every fold_K/best.pt; all must belong to the same task."""
    if not weights_dir.is_dir():
        raise UserError(f"weights folder not found: {weights_dir} (pass --weights_dir)")
    paths = layout.best_checkpoints(weights_dir)
    if not paths:
        raise UserError(f"no trained folds (fold_K/best.pt) in {weights_dir}; train first or pass --weights_dir")
    ckpts = [ckpt.load(p) for p in paths]
    cfg = ckpts[0]["config"]
    for p, c in zip(paths, ckpts):
        other = c["config"]
        if (other["task"], other["targets"]["columns"], other["data"]["views"]) != (
                cfg["task"], cfg["targets"]["columns"], cfg["data"]["views"]):
            raise UserError(f"{p} belongs to another task than {paths[0]}; keep one task per weights folder")
    log.info("weights: %d folds from %s (%s)", len(paths), weights_dir, ", ".join(p.parent.name for p in paths))
    return ckpts, C.complete(cfg)


def load_models(ckpts, device):
    models = []
    for c in ckpts:
        m = build_model(c["model_args"])
        m.load_state_dict(c["model"])
        models.append(to_device(m, device).eval())
    return models
