"""Any mix of binary and multiclass targets on one multi-view network (``targets.kind: heads``): RSNA 2023's
cancer with BIRADS beside it, CheXpert's five observations; scored by the competition's metric (``metric``).

    targets:
      kind: heads
      columns: [cancer]                       # written by test.py, in this order (a multiclass head: NAME_CLASS)
      heads:                                  # per-head settings; a head here but not in columns: trained only
        cancer: {pos_weight: auto}            # BCE weight of the positives: auto (negatives / positives) | number
        BIRADS: {classes: [0, 1, 2], loss_weight: 0.5}    # classes: a multiclass head over these values
      uncertain: {Atelectasis: ones}          # the value targets.uncertain_value (-1): ignore | ones | zeros
      missing: ignore                         # an empty cell: ignore (left out of loss and scores) | zeros
    metric: {name: pf1, columns: [cancer]}    # auroc | mean_auroc | pf1 (metrics/competition.py)

A label left out (missing, or uncertain under ``ignore``) is left out of the loss and of every score of its
column, never refused. The chance band of a fold is the metric's own under permuted labels.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..metrics import competition as M
from ..metrics.chance import permutation_upper
from ..networks.model import multiview_args
from ..readers.tables import text
from ..utilities.errors import UserError
from .base import Classification
from .heads_io import HeadsScoring, policy_of

POLICIES = ("ignore", "ones", "zeros")
PERMUTATIONS = 100                      # label permutations behind a fold's chance band


@dataclass
class Head:
    name: str
    classes: list = None                 # None: binary
    pos_weight: object = 1.0             # binary: 'auto' or a number
    loss_weight: float = 1.0
    output: bool = True
    start: int = 0                       # its first column in the label / logit vector

    @property
    def columns(self):
        return [self.name] if self.classes is None else [f"{self.name}_{c}" for c in self.classes]


class Heads(HeadsScoring, Classification):
    name = "heads"

    def check(self, where):
        t = self.cfg["targets"]
        settings = t["heads"] or {}
        if not isinstance(settings, dict):
            raise UserError(f"{where}: targets.heads maps each head's name to its settings")
        names = list(dict.fromkeys(list(self.cols) + list(settings)))
        self.heads, start = [], 0
        for name in names:
            s = settings.get(name) or {}
            unknown = set(s) - {"classes", "pos_weight", "loss_weight"}
            if unknown:
                raise UserError(f"{where}: targets.heads.{name} has unknown settings {sorted(unknown)} (classes, "
                                "pos_weight, loss_weight)")
            classes = [text(c) for c in s["classes"]] if s.get("classes") is not None else None
            if classes is not None and len(classes) < 2:
                raise UserError(f"{where}: targets.heads.{name}.classes needs at least two values")
            head = Head(name, classes, s.get("pos_weight", 1.0), float(s.get("loss_weight", 1.0)), name in self.cols,
                        start)
            if head.pos_weight != "auto" and (isinstance(head.pos_weight, bool) or
                                              not isinstance(head.pos_weight, (int, float)) or head.pos_weight <= 0):
                raise UserError(f"{where}: targets.heads.{name}.pos_weight must be auto or a number > 0")
            self.heads.append(head)
            start += len(head.columns)
        self.label_cols = [c for h in self.heads for c in h.columns]
        self.cols = [c for h in self.heads if h.output for c in h.columns]      # what test.py writes
        for key in ("uncertain", "missing"):
            for col, rule in policy_of(t[key], self.label_columns()).items():
                if rule not in POLICIES:
                    raise UserError(f"{where}: targets.{key} of {col} must be one of {', '.join(POLICIES)}")
        if self.cfg["mirror"]:
            raise UserError(f"{where}: a heads task has no mirror map (mirror swaps the targets of a binary task)")
        metric = dict(self.cfg["metric"])
        metric["name"] = metric["name"] or "mean_auroc"
        binary = [h.name for h in self.heads if h.classes is None and h.output]
        self.metric_name, chosen = M.check(metric, self.cols, where)
        if self.metric_name == "pf1" and chosen[0] not in binary:
            raise UserError(f"{where}: metric pf1 scores a binary output column (one of {', '.join(binary)})")
        self.metric_idx = [self.label_cols.index(c) for c in chosen]
        self.metric_columns = chosen

    # ---- labels ---------------------------------------------------------------------------------------------

    def label_columns(self):
        return [h.name for h in self.heads]

    def read_labels(self, frame, csv_path):
        """(n, L) float32 over the label columns (a multiclass head one-hot); NaN where a label is left out."""
        absent = [c for c in self.label_columns() if c not in frame.columns]
        if absent:
            raise UserError(f"{csv_path} lacks the target columns {', '.join(absent)} (columns: "
                            f"{', '.join(map(str, frame.columns))[:300]})")
        out = np.full((len(frame), len(self.label_cols)), np.nan, np.float32)
        for h in self.heads:
            values, _ = self.head_values(h, frame[h.name])
            if h.classes is None:
                out[:, h.start] = values
            else:
                ok = ~np.isnan(values)
                out[ok, h.start:h.start + len(h.classes)] = np.eye(len(h.classes))[values[ok].astype(int)]
        return out

    def head_values(self, head, cells):
        """(per row: 0/1 (binary) or the class index, NaN when left out; the rows whose value is invalid)."""
        t = self.cfg["targets"]
        miss, unsure = policy_of(t["missing"], [head.name])[head.name], \
            policy_of(t["uncertain"], [head.name]).get(head.name, "ignore")
        words = [text(c) for c in cells]
        empty = np.array([w == "" for w in words])
        if head.classes is None:
            num = pd.to_numeric(pd.Series(words), errors="coerce").to_numpy(float)
            uncertain = num == float(t["uncertain_value"])
            num[uncertain] = {"ignore": np.nan, "ones": 1.0, "zeros": 0.0}[unsure]
            bad = ~empty & ~uncertain & ~np.isin(num, [0, 1])
        else:
            index = {c: i for i, c in enumerate(head.classes)}
            num = np.array([index.get(w, np.nan) for w in words], float)
            bad = ~empty & np.isnan(num)
        num[empty] = 0.0 if miss == "zeros" and head.classes is None else np.nan   # a class: never guessed
        num[bad] = np.nan
        return num, bad

    def label_problems(self, samples):
        out = []
        for h in self.heads:
            _, bad = self.head_values(h, samples.frame[h.name])
            if bad.any():
                allowed = "0 or 1" if h.classes is None else ", ".join(h.classes)
                cells = [f"{samples.ids[r]}/{h.name}='{samples.frame[h.name].iloc[r]}'" for r in np.flatnonzero(bad)]
                out.append(("error", f"{h.name} values other than {allowed} (empty: {self.cfg['targets']['missing']}"
                            f"; {self.cfg['targets']['uncertain_value']}: targets.uncertain)", cells))
            known = ~np.isnan(samples.labels[:, h.start])
            if h.classes is None and known.any() and np.unique(samples.labels[known, h.start]).size < 2:
                out.append(("warning", f"{h.name} holds one class only in the training table: its head learns "
                            "nothing and its AUROC is undefined", [h.name]))
        return out

    def training_labels(self, y):
        """Positive weights of the binary heads with pos_weight auto: negatives / positives of the fold's
        training labels (1 without positives), capped at 100."""
        self.pos = {}
        for h in self.heads:
            if h.classes is None and h.pos_weight == "auto":
                col = y[:, h.start][~np.isnan(y[:, h.start])]
                pos = float((col == 1).sum())
                self.pos[h.name] = min(100.0, (len(col) - pos) / pos) if pos else 1.0

    # ---- the network ------------------------------------------------------------------------------------------

    def model_args(self):
        return dict(multiview_args(self.cfg, "flat", 0), n_outputs=len(self.label_cols))

    def loss(self, logits, y):
        logits, y = logits.float(), y.float()
        total = logits.new_zeros(())
        for h in self.heads:
            if h.classes is None:
                target, z = y[:, h.start], logits[:, h.start]
                keep = ~torch.isnan(target)
                if not keep.any():
                    continue
                weight = getattr(self, "pos", {}).get(h.name) if h.pos_weight == "auto" else h.pos_weight
                pw = torch.tensor(float(weight or 1.0), device=logits.device)
                part = F.binary_cross_entropy_with_logits(z[keep], target[keep], pos_weight=pw)
            else:
                width = len(h.classes)
                target = y[:, h.start:h.start + width]
                keep = ~torch.isnan(target[:, 0])
                if not keep.any():
                    continue
                part = F.cross_entropy(logits[keep, h.start:h.start + width], target[keep].argmax(1))
            total = total + h.loss_weight * part
        return total

    def probabilities(self, logits):
        parts = [torch.sigmoid(logits[:, h.start:h.start + 1]) if h.classes is None else
                 torch.softmax(logits[:, h.start:h.start + len(h.classes)], 1) for h in self.heads]
        return torch.cat(parts, 1)

    def logits_of_probabilities(self, probs):
        p = torch.from_numpy(np.asarray(probs)).double()
        parts = [torch.logit(p[:, h.start:h.start + 1].clamp(1e-7, 1 - 1e-7)) if h.classes is None else
                 torch.log(p[:, h.start:h.start + len(h.classes)].clamp_min(1e-7)) for h in self.heads]
        return torch.cat(parts, 1)

    # ---- scores -----------------------------------------------------------------------------------------------

    def metric(self, y, p):
        """The task's metric of labels and probabilities (n, L) in label-column order."""
        return M.value(self.metric_name, y, p, self.metric_idx)

    def chance_upper(self, y, p):
        return permutation_upper(self.metric, y, p, n=PERMUTATIONS)

    def fold_scores(self, y, p, fold):
        """(folds, metric per fold, chance upper edge per fold) of out-of-fold tables."""
        ks = np.unique(fold)
        return ks, [self.metric(y[fold == k], p[fold == k]) for k in ks], \
            [self.chance_upper(y[fold == k], p[fold == k]) for k in ks]
