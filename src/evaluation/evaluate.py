"""evaluate(): the organizers' numbers for predictions against the truth (a table, or a folder of lesion maps),
computed their way, and the fuller picture beside them (by the task's kind). evaluate.py parses its options and
calls it."""
import json
import logging
from pathlib import Path

from ..tasks import kind_of
from ..utilities import config as C
from ..utilities.errors import UserError
from ..utilities.files import atomic_write_text
from .task import find_task

log = logging.getLogger("harness")


def evaluate(pred=None, gt=None, config=None, n_boot=1000, json_path=None, plots=None, weights_dir=None):
    """Score the predictions ``pred`` against the truth ``gt`` (default: the task's output.csv and
    groundtruth.csv here; a lesions task: the folders pred_lesions/ and groundtruth/); prints the scores and
    returns them as a dict. config: the task (None: found from the trained weights in ``weights_dir`` or from the
    prediction's header, task.py); json_path: also write the scores there; plots: a folder for the pictures."""
    if plots and Path(plots).exists() and not Path(plots).is_dir():
        raise UserError(f"--plots {plots} is a file; give a folder for the pictures")
    cfg, found = (C.load_config(config), None) if config else find_task(pred, weights_dir)
    kind = kind_of(cfg)
    rep = kind.evaluate(pred or kind.default_out, gt or kind.default_truth, n_boot, plots)
    if found:                       # after the scores: the organizers' numbers stay the first lines printed
        log.info("%s", found)
    if json_path:
        atomic_write_text(json_path, json.dumps(rep, indent=2))
    return rep
