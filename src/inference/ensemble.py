"""The trained folds of a weights folder as one ensemble: their checkpoints, checked to belong to one task,
and the networks rebuilt from them (no code is unpickled; weights only)."""
import logging

from ..networks.forward import Normalized
from ..networks.model import build_model, to_device
from ..preprocessing.views import input_recipe, recipe_differences
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
    first = recipe_of(ckpts[0])
    for p, c in zip(paths, ckpts):
        other = c["config"]
        if (other["task"], other["targets"]["columns"], other["data"]["views"]) != (
                cfg["task"], cfg["targets"]["columns"], cfg["data"]["views"]):
            raise UserError(f"{p} belongs to another task than {paths[0]}; keep one task per weights folder")
        differ = recipe_differences(first, recipe_of(c))
        if differ:
            raise UserError(f"{p} was trained on other views than {paths[0]} ({'; '.join(differ)}): the folds of "
                            "one weights folder share their image preparation (train them alike, or blend the runs: "
                            "python -m src.tools.experiments.blend)")
    norms = {(str(r["mean"]), str(r["std"])) for r in map(recipe_of, ckpts)}
    log.info("weights: %d folds from %s (%s)%s", len(paths), weights_dir, ", ".join(p.parent.name for p in paths),
             f"; {len(norms)} input normalisations, each fold fed its own" if len(norms) > 1 else "")
    return ckpts, C.complete(cfg)


def recipe_of(checkpoint):
    """The input recipe a fold was trained with: its own record, or (a checkpoint written before it kept one)
    derived from its config."""
    return checkpoint.get("input") or input_recipe(C.complete(checkpoint["config"]))


def load_models(ckpts, device):
    """The folds' networks on ``device``, each fed images in [0, 1] and normalising them as it was trained
    (forward.Normalized): pair them with a dataset made with ``normalize=False``."""
    models = []
    for c in ckpts:
        m = build_model(c["model_args"])
        m.load_state_dict(c["model"])
        r, channels = recipe_of(c), int(C.complete(c["config"])["data"]["channels"])
        models.append(Normalized(to_device(m, device), r["mean"], r["std"], channels).to(device).eval())
    return models
