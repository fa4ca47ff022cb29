"""Lesion segmentation with a grade (fundus photographs, FGADR / IDRiD): a U-Net with one output map per lesion
type and, with train.grade_weight > 0, a grade head on the encoder's deepest features, trained jointly.

Scores: per lesion the area under the pixel precision-recall curve (AUPR, the IDRiD challenge's metric), Dice
and IoU; for the grade quadratic-weighted kappa and one-vs-rest AUROC. Model choice on the mean lesion AUPR.
test.py writes {out}/{lesion}/{id}.png (probability x 255, each at its image's size) and {out}/grades.csv.
"""
import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..loading.dataset import MultiViewDataset
from ..loading.loader import make_loader
from ..metrics import pixels as PM
from ..preprocessing.geometry import restore
from ..utilities.distributed import gather
from ..utilities.errors import UserError
from ..utilities.files import atomic_write_bytes, atomic_write_csv
from .base import Validation
from .lesion_files import check_written, evaluate_folders
from .segmentation import Segmentation, image_size, predicted_batches, split_output

log = logging.getLogger("harness")


def lesion_loss(logits, target, eps=1.0):
    """BCE plus 1 - Dice per lesion type, the Dice over the whole batch (a rare, tiny lesion counts as much as a
    common one, and a batch without it does not punish an empty map). With train.accumulate > 1 the Dice is over
    each chunk: close to, not exactly, the whole batch's update."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum((0, 2, 3))
    dice = (2 * inter + eps) / (p.sum((0, 2, 3)) + target.sum((0, 2, 3)) + eps)
    return bce + (1 - dice).mean()


class Lesions(Segmentation):
    name = "lesions"
    default_out = "pred_lesions"
    default_truth = "groundtruth"
    produces_masks = False        # its maps are no lung masks for another task's input (inference --mask_weights)

    def __init__(self, cfg, where="config"):
        t = cfg["targets"]
        self.grade_col, self.n_grades = t["grade_column"], int(t["grade_classes"])
        self.grade_weight = float(cfg["train"]["grade_weight"])
        self.grade_cols = [f"grade_{g}" for g in range(self.n_grades)]
        super().__init__(cfg, where)

    def check(self, where):
        if not self.cfg["data"]["mask_dir"] or not self.cfg["data"]["mask_subdirs"]:
            raise UserError(f"{where}: a lesions task needs data.mask_dir and data.mask_subdirs: true "
                            "(masks/LESION/ID.png, one folder per targets.columns name)")
        if self.grade_weight > 0 and (not self.grade_col or self.n_grades < 2):
            raise UserError(f"{where}: train.grade_weight > 0 needs targets.grade_column and grade_classes >= 2")

    def read_labels(self, frame, csv_path):
        """(n, 1) float32 grades when the grade head is trained (NaN where the CSV holds no valid grade)."""
        if self.grade_weight <= 0:
            return None
        if self.grade_col not in frame.columns:
            raise UserError(f"{csv_path} lacks the '{self.grade_col}' column (train.grade_weight: 0 trains the "
                            "lesion maps alone)")
        grade = pd.to_numeric(frame[self.grade_col], errors="coerce").to_numpy(np.float32)
        grade[~np.isin(grade, np.arange(self.n_grades))] = np.nan
        return grade[:, None]

    def label_columns(self):
        return [self.grade_col] if self.grade_weight > 0 else []

    def label_problems(self, samples):
        bad = [f"{samples.ids[r]}/{self.grade_col}='{samples.frame[self.grade_col].iloc[r]}'"
               for r in np.flatnonzero(np.isnan(samples.labels[:, 0]))]
        return [("error", f"{self.grade_col} values outside 0..{self.n_grades - 1} or missing", bad)] if bad else []

    def model_args(self):
        return dict(super().model_args(), grade_classes=self.n_grades if self.grade_weight > 0 else 0, prior=0.01)

    def loss(self, out, y):
        seg, grade = split_output(out)
        masks, labels = y if isinstance(y, (tuple, list)) else (y, None)
        loss = lesion_loss(seg, masks)
        if grade is not None and labels is not None:
            loss = loss + self.grade_weight * F.cross_entropy(grade, labels[:, 0].long())
        return loss

    def validate(self, model, loader, device, samples, va, fold):
        hists, grades, order, losses = [], [], [], []
        for probs, gprobs, y, idx in predicted_batches([model], loader, device):
            masks = y[0] if isinstance(y, (tuple, list)) else y
            hists.append(PM.histograms(PM.quantise(probs.cpu()), masks > 0.5))
            logits = torch.logit(probs.cpu().clamp(1e-6, 1 - 1e-6))
            losses.append(np.full(len(idx), float(lesion_loss(logits, masks))))
            grades.append(np.zeros((len(idx), 0), np.float32) if gprobs is None else gprobs.cpu().numpy())
            order.append(idx.numpy())
        hists, grades, losses = gather(np.concatenate(order), np.concatenate(hists), np.concatenate(grades),
                                       np.concatenate(losses))
        scores = PM.lesion_scores(hists, self.cols)
        aupr = PM.mean_aupr(hists)
        val_loss = float(losses.mean())
        oof = pd.DataFrame({"id": [samples.ids[i] for i in va], "fold": fold})
        for j, c in enumerate(self.cols):
            neg, pos = hists[:, j, 0], hists[:, j, 1]
            oof[f"{c}_tp"], oof[f"{c}_fp"] = pos[:, PM.HALF:].sum(1), neg[:, PM.HALF:].sum(1)
            oof[f"{c}_fn"], oof[f"{c}_fold_aupr"] = pos[:, :PM.HALF].sum(1), scores[c]["aupr"]
        row = dict(val_loss=val_loss, val_aupr=aupr, **{f"val_aupr_{c}": s["aupr"] for c, s in scores.items()})
        text = f"val_loss {val_loss:.4f}  AUPR {aupr:.4f} (" + " ".join(
            f"{c} {s['aupr']:.3f}" for c, s in scores.items()) + ")"
        if grades.shape[1]:
            truth = samples.labels[va, 0]
            for g, c in enumerate(self.grade_cols):
                oof[c] = grades[:, g]
            oof["grade_true"] = truth.astype(int)
            g = PM.grade_scores(truth, grades)
            row.update(val_kappa=g["kappa"], val_grade_auroc=g["auroc"])
            text += f"  grade kappa {g['kappa']:.3f} AUROC {g['auroc']:.3f}"
        prevalence = np.nanmean([s["prevalence"] for s in scores.values()])
        return Validation([aupr if aupr == aupr else -np.inf, -val_loss], row, oof,
                          dict(val_scores=dict(row, lesions=scores)), text, chance=2 * float(prevalence))

    def summarize(self, oof):
        n_folds = oof["fold"].nunique()
        per_fold = oof.groupby("fold")[[f"{c}_fold_aupr" for c in self.cols]].first()
        aupr = {c: float(per_fold[f"{c}_fold_aupr"].mean()) for c in self.cols}
        dice = {}
        for c in self.cols:
            tp, fp, fn = (float(oof[f"{c}_{k}"].sum()) for k in ("tp", "fp", "fn"))
            dice[c] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
        fold_means = per_fold.mean(axis=1).tolist()
        summary = dict(n_folds=n_folds, cv_lesion_aupr=float(np.nanmean(list(aupr.values()))), lesion_aupr=aupr,
                       lesion_dice=dice, per_fold_lesion_aupr=fold_means)
        text = (f"cross-validation summary ({n_folds} folds): mean lesion AUPR {summary['cv_lesion_aupr']:.4f} "
                "(each lesion's validation AUPR averaged over the folds: "
                + " ".join(f"{c} {a:.3f}" for c, a in aupr.items()) + ")  Dice " +
                " ".join(f"{c} {d:.3f}" for c, d in dice.items()) +
                f"  per-fold AUPR {' '.join(f'{v:.4f}' for v in fold_means)}")
        if "grade_true" in oof.columns:
            g = PM.grade_scores(oof["grade_true"].to_numpy(), oof[self.grade_cols].to_numpy())
            summary.update(oof_grade_kappa=g["kappa"], oof_grade_auroc=g["auroc"])
            text += f"\n  grade (out-of-fold): quadratic kappa {g['kappa']:.4f}  one-vs-rest AUROC {g['auroc']:.4f}"
        return summary, text

    def leaderboard(self, summary):
        row = dict(cv_lesion_aupr=summary["cv_lesion_aupr"],
                   **{f"aupr_{c}": v for c, v in summary["lesion_aupr"].items()})
        if "oof_grade_kappa" in summary:
            row.update(oof_grade_kappa=summary["oof_grade_kappa"], oof_grade_auroc=summary["oof_grade_auroc"])
        return row

    def write_predictions(self, run, out):
        if out is None:
            raise UserError("a lesions task writes maps: give a folder to write them to")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UserError(f"{out} already holds files; choose another --out folder (nothing is overwritten)")
        samples, n = run.samples, len(run.samples.ids)
        ds = MultiViewDataset(samples, np.arange(n), self.cfg, train=False, mask_is_target=True, with_box=True,
                              normalize=False)      # run.models normalise, each as its fold was trained
        loader = make_loader(ds, run.batch_size, False, run.workers, run.device)
        grades = np.full((n, self.n_grades), np.nan)
        for c in self.cols:
            (out / c).mkdir(parents=True, exist_ok=True)
        for probs, gprobs, boxes, idx in predicted_batches(run.models, loader, run.device, tta=run.tta):
            probs = probs.cpu().numpy()
            for b, (i, box) in enumerate(zip(idx.tolist(), boxes.tolist())):
                h, w = image_size(samples.paths[i][0], probs.shape[-2:])
                for j, c in enumerate(self.cols):
                    level = PM.quantise(restore(probs[b, j], box, h, w))
                    atomic_write_bytes(out / c / f"{samples.ids[i]}.png", cv2.imencode(".png", level)[1].tobytes())
            if gprobs is not None:
                grades[idx.numpy()] = gprobs.cpu().numpy()
        frame = pd.DataFrame({self.cfg["data"]["id_column"]: samples.ids})
        if not np.isnan(grades).all():
            for g, c in enumerate(self.grade_cols):
                frame[c] = np.round(grades[:, g], 6)
            atomic_write_csv(frame, out / "grades.csv")
        check_written(out, samples, self.cols, self.grade_cols if len(frame.columns) > 1 else None,
                      self.cfg["data"]["id_column"])
        log.info("wrote %d x %d lesion maps to %s ({lesion}/{id}.png, probability x 255, each at its image's "
                 "size)%s", n, len(self.cols), out, "" if len(frame.columns) == 1 else " and grades.csv")
        return frame

    def evaluate(self, pred, gt, n_boot, plots):
        return evaluate_folders(Path(pred), Path(gt), self, n_boot, Path(plots) if plots else None)
