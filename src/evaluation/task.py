"""Which task a prediction belongs to when evaluate.py is not told (--config): of the task of the trained weights
(their fold configs, else their checkpoints) and the shipped tasks (configs/*.yaml), the one whose output columns
are the prediction's header, or most of it (the trained task on a tie); a malformed prediction is then refused by
that task's own checks, naming the column that is wrong."""
import csv
from pathlib import Path

from ..readers.tables import decode, separator
from ..tasks import kind_of
from ..utilities import checkpoint, layout
from ..utilities import config as C
from ..utilities.errors import UserError


def weights_config(weights_dir):
    """(the task config a weights folder was trained with, where it was read) or (None, None)."""
    folder = C.project_path(weights_dir, C.DEFAULT_WEIGHTS)
    configs = layout.fold_configs(folder)
    if configs:
        return C.load_config(configs[0]), configs[0]
    ckpts = layout.shipped_checkpoints(folder) if folder.is_dir() else []
    if ckpts:
        return C.complete(checkpoint.load(ckpts[0])["config"]), ckpts[0]
    return None, None


def header_of(path):
    """The column names of a CSV prediction (its first line); a UserError saying why it has none."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise UserError(f"prediction file {path} is a folder; name its task with --config") from None
    except OSError:
        raise UserError(f"prediction file not found: {path} (pass --pred, and --config TASK)") from None
    content = decode(data, path, "prediction file")[0]          # the reader's own one-line reasons
    first = next((line for line in content.splitlines() if line.strip()), "")
    return [c.strip() for c in next(csv.reader([first], delimiter=separator(content)), [])]


def outputs(cfg):
    """The id column and the output columns of a task, as its output.csv holds them."""
    return [cfg["data"]["id_column"]] + list(kind_of(cfg).cols)


def find_task(pred, weights_dir=None):
    """(the task config to score ``pred`` (None: the task's own default output here) with, a line saying why);
    a UserError naming --config when no task (or more than one) fits."""
    trained, where = weights_config(weights_dir)
    pred = Path(pred) if pred else Path(kind_of(trained).default_out if trained else "output.csv")
    if pred.is_dir():                                      # lesion maps or masks: the trained task's
        if trained is None:
            raise UserError(f"{pred} is a folder; say which task scores it with --config (or --weights_dir)")
        return trained, f"task: {trained['task']} (from {where})"
    header = header_of(pred)
    fits = [(overlap(outputs(trained), header), 1, str(where), trained)] if trained is not None else []
    for path in sorted((C.PROJECT_ROOT / "configs").glob("*.yaml")):
        cfg = C.load_config(path)
        fits.append((overlap(outputs(cfg), header), 0, f"configs/{path.name}", cfg))
    fits.sort(key=lambda f: f[:2], reverse=True)
    if not fits or fits[0][0] < 0.5 or (len(fits) > 1 and fits[1][:2] == fits[0][:2]):
        raise UserError(f"no single task writes the columns of {pred} ({', '.join(header)[:200]}); name the task "
                        "with --config")
    score, _, source, cfg = fits[0]
    return cfg, f"task: {cfg['task']} (from {source}: {'all' if score == 1 else 'most'} of {pred.name}'s columns " \
                "are its outputs)"


def overlap(columns, header):
    """How far a task's output columns are a prediction's header: shared / all of both (1: the same)."""
    return len(set(columns) & set(header)) / len(set(columns) | set(header))
