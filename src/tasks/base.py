"""What every task kind provides, and the behaviour the two classification kinds share.

A kind answers, for its task config: the labels of a table and their problems, the network's build arguments,
the loss, one validation pass, the cross-validation summary, the test output and its scores. The rest of the
code asks ``kinds.kind_of(cfg)`` and never branches on the kind's name.
"""
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..loading.dataset import MultiViewDataset
from ..loading.loader import make_loader
from ..metrics.classification import column_aucs
from ..networks.forward import predict_loader
from ..readers.tables import check_columns, numeric, read_scoring_table
from ..utilities import config as C
from ..utilities.distributed import gather
from ..utilities.errors import UserError
from .output import output_frame, write_checked

log = logging.getLogger("harness")


@dataclass
class Validation:
    score: list                  # compared lexicographically; higher is better
    row: dict                    # metrics.csv columns
    oof: pd.DataFrame            # out-of-fold predictions of this fold
    extras: dict = field(default_factory=dict)   # stored in best.pt (thresholds, validation scores)
    text: str = ""               # for the epoch log line
    chance: float = float("nan")  # a headline score at or below this is within the chance band (never learned)


@dataclass
class PredictionRun:
    """What test.py hands a kind: the trained folds, the test samples and the options of the run."""
    models: list
    ckpts: list
    samples: object
    weights_dir: object
    device: torch.device
    workers: int
    batch_size: int = 8
    tta: bool = False
    location_probs: bool = False


class Kind:
    name = ""
    default_out = "output.csv"    # what test.py writes when --out is not given (and evaluate.py reads)
    default_truth = "groundtruth.csv"   # what evaluate.py scores against when --gt is not given
    mask_is_target = False        # the dataset yields the sample's mask as its target (segmentation)
    produces_masks = False        # test.py writes masks, not a table
    output_is_folder = False      # test.py's --out is a folder (of maps or masks), not a file

    def __init__(self, cfg, where="config"):
        self.cfg = cfg
        self.cols = C.target_columns(cfg)      # the output columns, in config order (read once, not per step)
        self.check(where)

    def check(self, where):
        """Refuse a config this kind cannot run (one line)."""

    def read_labels(self, frame, csv_path):
        """(n, T) float32 labels of a training table, or None when the kind learns from masks."""
        return None

    def label_columns(self):
        """The table columns ``read_labels`` reads (a long table's rows of one sample are merged on them)."""
        return []

    def training_labels(self, y):
        """Told the labels (n, T) of the samples a fold trains on, before it trains (e.g. class weights)."""

    def label_problems(self, samples):
        """[(severity, what, items)] about the training labels."""
        return []

    def model_args(self):
        raise NotImplementedError

    def loss(self, logits, y):
        raise NotImplementedError

    def validate(self, model, loader, device, samples, va, fold):
        raise NotImplementedError

    def summarize(self, oof):
        """(CV summary dict, printable text) of an out-of-fold table (any subset of folds)."""
        raise NotImplementedError

    def leaderboard(self, summary):
        """{column: value} of a sweep's leaderboard row; the first column ranks the runs."""
        raise NotImplementedError

    def headline(self, oof):
        """The score that ranks runs (the leaderboard's first column) of an out-of-fold table; a kind may compute
        it without the whole summary (a blend's selection asks for it hundreds of times)."""
        return float(next(iter(self.leaderboard(self.summarize(oof)[0]).values())))

    def write_predictions(self, run, out):
        """Predict run.samples with run.models, write them to ``out`` (None: only return them); a DataFrame."""
        raise NotImplementedError

    def evaluate(self, pred, gt, n_boot, plots):
        """Scores of the predictions ``pred`` against the truth ``gt`` (files or folders), printed; a dict. With
        ``plots``, pictures of them drawn into that folder."""
        raise UserError(f"evaluate.py scores prediction tables; a {self.name} task has none")

    def score(self, y, p, n_boot, pred_path, gt_path):
        """Scores of a prediction table against the truth, printed; a dict."""
        raise NotImplementedError

    def evaluation_plots(self, y, p, folder, source):
        """ROC and calibration pictures of an evaluated table; the paths written."""
        raise UserError(f"no evaluation plots for a {self.name} task")

    def check_explainable(self):
        """Grad-CAM explains classification outputs; other kinds refuse in one line."""
        raise UserError(f"Grad-CAM explains classification outputs; a {self.name} model's output is a map already")

    def explain_target(self, probs):
        """The output column Grad-CAM explains by default."""
        raise NotImplementedError

    def describe(self, probs, truth, weights_dir, ckpts):
        """One or two lines: the fold-averaged prediction of one sample (and its truth)."""
        raise NotImplementedError

    def heldout_rows(self, cv, y, p):
        """([(score name, out-of-fold value, held-out value)], one extra line) for src.tools.experiments.honesty."""
        raise UserError(f"no held-out comparison for a {self.name} task")


class Classification(Kind):
    """Shared by the binary and multiclass kinds: a table of probabilities, one column per target."""

    def check_explainable(self):
        pass

    def probabilities(self, logits):
        raise NotImplementedError

    def logits_of_probabilities(self, probs):
        """The inverse of ``probabilities`` (up to a constant per row for softmax), for losses on averaged output."""
        raise NotImplementedError

    def validation_scores(self, y, p):
        """(headline score, {name: value} for the logs, {name: value} of further metrics.csv columns)."""
        raise NotImplementedError

    def validation_extras(self, y, p):
        """What a fold's best.pt keeps beside its weights (e.g. location thresholds)."""
        return {}

    def chance_upper(self, y):
        raise NotImplementedError

    def validate(self, model, loader, device, samples, va, fold):
        cols = self.cols
        y = samples.labels[va]
        probs, _, order = predict_loader([model], loader, device, activation=self.probabilities)
        (probs,) = gather(order, probs)                   # all validation samples, in order, on every rank
        val_loss = float(self.loss(self.logits_of_probabilities(probs), torch.from_numpy(y)))
        headline, scores, more = self.validation_scores(y, probs)
        extras = dict(val_scores=dict(aucs=column_aucs(y, probs, cols), val_loss=val_loss, **scores),
                      **self.validation_extras(y, probs))
        oof = pd.DataFrame({"id": [samples.ids[i] for i in va], "fold": fold})
        for j, c in enumerate(cols):
            oof[c] = probs[:, j]
        for j, c in enumerate(cols):
            oof[f"{c}_true"] = y[:, j].astype(int)
        # headline score first; validation loss breaks ties (a saturated or undefined AUROC)
        score = [headline if headline == headline else -np.inf, -val_loss]
        text = "  ".join(f"{k} {v:.4f}" for k, v in scores.items())
        return Validation(score, dict(val_loss=val_loss, **scores, **more), oof, extras,
                          f"val_loss {val_loss:.4f}  {text}", self.chance_upper(y))

    def evaluate(self, pred, gt, n_boot, plots):
        """The table's scores (rows matched by position, columns by name, as the organizers do)."""
        id_col = self.cfg["data"]["id_column"]
        gt_df, pred_df = read_scoring_table(gt, "ground-truth", id_col), read_scoring_table(pred, "prediction", id_col)
        check_columns(gt_df, [id_col] + self.cols, gt, "ground truth", extra_ok=True)
        check_columns(pred_df, [id_col] + self.cols, pred, "prediction")
        for df, path, what in ((gt_df, gt, "ground truth"), (pred_df, pred, "prediction")):
            dup = df[id_col][df[id_col].duplicated()].unique().tolist()
            if dup:
                raise UserError(f"{what} {path}: duplicate {id_col} values {dup[:5]}")
        if len(gt_df) != len(pred_df):
            raise UserError(f"{pred} has {len(pred_df)} rows but {gt} has {len(gt_df)}; rows are matched by position")
        y, p = numeric(gt_df, self.cols, gt, "ground truth"), numeric(pred_df, self.cols, pred, "prediction")
        if not np.isin(y, [0, 1]).all():
            raise UserError(f"ground truth {gt}: labels must be 0 or 1")
        if pred_df[id_col].astype(str).str.strip().tolist() != gt_df[id_col].astype(str).str.strip().tolist():
            log.warning("WARNING: the %s order of %s differs from %s; the organizers match rows BY POSITION, "
                        "so these scores pair rows by position too", id_col, pred, gt)
        rep = self.score(y, p, n_boot, pred, gt)
        if plots:
            paths = self.evaluation_plots(y, p, Path(plots), Path(pred).name)
            print(f"plots: {', '.join(str(x) for x in paths)}")
        return rep

    def predict_probs(self, run):
        """Fold-averaged probabilities (n, T) of run.samples, in their order (and mirrored, with run.tta)."""
        mirror = C.mirror_permutations(self.cfg) if run.tta else None
        if run.tta and mirror is None:
            log.warning("--tta: this task has no mirror map in its config; predicting without it")
        ds = MultiViewDataset(run.samples, np.arange(len(run.samples.ids)), self.cfg, train=False,
                              normalize=False)      # run.models normalise, each as its fold was trained
        loader = make_loader(ds, run.batch_size, False, run.workers, run.device)
        probs, _, _ = predict_loader(run.models, loader, run.device, mirror, desc="predicting",   # CSV order
                                     activation=self.probabilities)
        return probs

    def output_values(self, run, probs):
        """{column: values} as written; every target a probability unless a kind says otherwise."""
        return {c: np.round(probs[:, j].astype(float), 6) for j, c in enumerate(self.cols)}

    def write_predictions(self, run, out):
        return self.write_probs(run, self.predict_probs(run), out)

    def write_probs(self, run, probs, out):
        """The output table of probabilities (n, T) of run.samples (thresholds from run.weights_dir), written to
        ``out`` and checked (None: only returned)."""
        frame = output_frame(run.samples, self.cfg, self.output_values(run, probs), self.cols)
        return write_checked(frame, out, run.samples, self.cfg, self.cols)
