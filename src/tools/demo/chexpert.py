"""Synthetic CheXpert v1.0-small stand-in (train_set/, test_set/, groundtruth.csv) in the real layout.

Patients have 1-3 studies; a study has one frontal film (most), a frontal and a lateral (~30%), two frontals
(~10%) or a lateral only (~8%). Frontal films: a bright body on a dark background with two dark, air-filled
lungs and a heart (the style of cxr.py); lateral films: a narrower side view with one lung field and the heart in
front. Labels are per study: for the 5 competition observations a true 0/1 is drawn (prevalence
cfg["demo"]["prevalence"], default 0.35) and written with the real labelling noise (true 1: mostly 1.0, some
-1.0 uncertain; true 0: mostly empty or 0.0, some -1.0); the other 9 observations are random. Each true
observation has its own visible sign in every frontal film of the study (x lesion_scale): Cardiomegaly a much
wider heart, Edema a bright haze over both lungs, Pleural Effusion a bright band at the bottom of a lung,
Atelectasis a bright sharp wedge in one lung, Consolidation a bright patchy blob in one lung; lateral films show
half-strength versions. The test split has no labels; groundtruth.csv holds the true 0/1 per test study.
"""
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from .cxr import smooth_noise

OBSERVATIONS = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
                "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
                "Fracture", "Support Devices"]
COMPETITION = ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion"]
META = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA"]
ROOT = "CheXpert-v1.0-small"
FIRST_TEST_PATIENT = 64541
# (frontal films, lateral films) of a study -> probability
STUDY_KINDS = {(1, 0): 0.52, (1, 1): 0.30, (2, 0): 0.07, (2, 1): 0.03, (0, 1): 0.08}


def noisy_label(rng, true):
    """The written label of a competition observation: true 1 -> 1.0 (85%) / -1.0; true 0 -> empty (55%), 0.0
    (35%) or -1.0 (10%)."""
    if true:
        return 1.0 if rng.random() < 0.85 else -1.0
    return float(rng.choice([np.nan, 0.0, -1.0], p=[0.55, 0.35, 0.10]))


def sample_study(rng, prevalence):
    """(written labels {observation: 1.0 / 0.0 / -1.0 / nan}, true {competition observation: 0/1}) of a study."""
    true = {c: int(rng.random() < prevalence) for c in COMPETITION}
    labels = {}
    for c in OBSERVATIONS[1:]:
        if c in true:
            labels[c] = noisy_label(rng, true[c])
        else:
            p = [0.55, 0.3, 0.1, 0.05] if c == "Support Devices" else [0.75, 0.08, 0.12, 0.05]
            labels[c] = float(rng.choice([np.nan, 1.0, 0.0, -1.0], p=p))
    labels["No Finding"] = np.nan
    if not any(true.values()) and rng.random() < 0.8:                # nothing but support devices
        labels["No Finding"] = 1.0
        labels.update({c: np.nan for c in OBSERVATIONS[1:-1] if labels[c] == 1.0})
    return {c: labels[c] for c in OBSERVATIONS}, true


def lung_masks(rng, h, w, frontal):
    """[(mask, (x0, y0, x1, y1) bounding box)] of the two lungs (frontal) or the one lung field (lateral)."""
    out = []
    for side in ((-1, 1) if frontal else (-1,)):
        m = np.zeros((h, w), np.uint8)
        if frontal:
            c = (int(w * (0.5 + side * rng.uniform(0.18, 0.22))), int(h * rng.uniform(0.45, 0.5)))
            axes = (int(w * rng.uniform(0.12, 0.15)), int(h * rng.uniform(0.27, 0.31)))
        else:
            c = (int(w * rng.uniform(0.5, 0.56)), int(h * rng.uniform(0.45, 0.5)))
            axes = (int(w * rng.uniform(0.25, 0.3)), int(h * rng.uniform(0.28, 0.32)))
        cv2.ellipse(m, c, axes, side * rng.uniform(0, 8), 0, 360, 255, -1)
        ys, xs = np.nonzero(m)
        out.append((m > 0, (xs.min(), ys.min(), xs.max(), ys.max())))
    return out


def add_in(img, layer, mask, amount, blur):
    """Add ``layer`` (0..1) x ``amount``, blurred by ``blur`` pixels, to ``img`` inside ``mask``."""
    if blur > 0:
        layer = cv2.GaussianBlur(layer, (0, 0), blur)
    img += layer * mask * amount


def draw_signs(rng, img, lungs, true, s, strength):
    """The visible signs of the true positive observations (all but Cardiomegaly) inside the lungs."""
    h, w = img.shape
    both = np.logical_or.reduce([m for m, _ in lungs]).astype(np.float32)
    if true["Edema"]:                                             # haze over both lungs, densest at the hila
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        hila = np.exp(-(((xx - w / 2) / (0.35 * w)) ** 2 + ((yy - h * 0.5) / (0.4 * h)) ** 2))
        add_in(img, (0.5 + 0.5 * hila) * (1 + smooth_noise(rng, h, w, 10, 0.25)), both, 45 * strength, s * 0.01)
    if true["Pleural Effusion"]:                                  # a band over the bottom of one lung or both
        for m, (x0, y0, x1, y1) in (lungs if rng.random() < 0.4 else [lungs[int(rng.integers(len(lungs)))]]):
            layer = np.zeros((h, w), np.float32)
            top = int(y1 - (y1 - y0) * rng.uniform(0.2, 0.3) * min(1.0, 0.5 + 0.5 * strength))
            cv2.ellipse(layer, ((x0 + x1) // 2, y1), ((x1 - x0) // 2 + 2, y1 - top), 0, 180, 360, 1.0, -1)
            layer[top + (y1 - top) // 2:] = 1.0
            add_in(img, layer, m.astype(np.float32), 70 * strength, s * 0.006)

    def pick():
        return lungs[int(rng.integers(len(lungs)))]

    if true["Atelectasis"]:                                       # a sharp wedge from the hilum outwards
        m, (x0, y0, x1, y1) = pick()
        hx = x1 if (x0 + x1) / 2 < w / 2 else x0
        hilum = (hx, int(y0 + (y1 - y0) * rng.uniform(0.4, 0.55)))
        far = (x0 + x1 - hx, int(y0 + (y1 - y0) * rng.uniform(0.55, 0.8)))
        spread = int((y1 - y0) * rng.uniform(0.06, 0.1) * min(1.0, 0.5 + 0.5 * strength)) + 1
        tri = np.array([hilum, (far[0], far[1] - spread), (far[0], far[1] + spread)], np.int32)
        layer = cv2.fillPoly(np.zeros((h, w), np.float32), [tri], 1.0)
        add_in(img, layer, m.astype(np.float32), 60 * strength, 0.5)
    if true["Consolidation"]:                                     # a patchy blob of overlapping puffs
        m, (x0, y0, x1, y1) = pick()
        c = np.array([rng.uniform(x0 + 0.3 * (x1 - x0), x1 - 0.3 * (x1 - x0)), rng.uniform(y0 + 0.3 * (y1 - y0),
                                                                                          y1 - 0.35 * (y1 - y0))])
        layer = np.zeros((h, w), np.float32)
        r0 = max(2.0, s * 0.05 * min(1.5, 0.5 + 0.5 * strength))
        for _ in range(int(rng.integers(4, 8))):
            p = c + rng.normal(0, r0 * 0.6, 2)
            cv2.circle(layer, (int(p[0]), int(p[1])), int(r0 * rng.uniform(0.5, 0.9)), 1.0, -1)
        layer *= 1 + smooth_noise(rng, h, w, 12, 0.3)
        add_in(img, layer, m.astype(np.float32), 60 * strength, r0 * 0.3)


def draw_chest(rng, size_range, frontal, ap, true, lesion_scale):
    """A gray uint8 chest film: frontal (two lungs, a heart in the middle) or lateral (narrower, one lung
    field, the heart in front), with the signs of ``true``'s positive observations (half strength on laterals)."""
    s = int(rng.integers(size_range[0], size_range[1] + 1))
    h, w = s, max(16, int(s * (rng.uniform(0.9, 1.1) if frontal else rng.uniform(0.7, 0.82))))
    strength = lesion_scale * (1.0 if frontal else 0.5)
    img = (rng.uniform(20, 40) + smooth_noise(rng, h, w, amp=8)).astype(np.float32)
    cv2.ellipse(img, (w // 2, int(h * 0.55)), (int(w * 0.45), int(h * 0.48)), 0, 0, 360, 150, -1)    # body
    lungs = lung_masks(rng, h, w, frontal)
    markings = smooth_noise(rng, h, w, 16, 5)                                           # vascular markings
    for m, _ in lungs:
        img[m] = rng.uniform(55, 75) + markings[m]                                       # dark, air-filled lungs
    heart_w = rng.uniform(0.10, 0.12) * (1 + 0.6 * lesion_scale * true["Cardiomegaly"]) * (1.04 if ap else 1.0)
    heart_h = rng.uniform(0.11, 0.13) * (1 + 0.15 * lesion_scale * true["Cardiomegaly"])
    if frontal:
        centre = (int(w * rng.uniform(0.52, 0.55)), int(h * rng.uniform(0.6, 0.64)))
        axes = (int(w * heart_w), int(h * heart_h))
    else:                                                        # in front (left of the film), half the growth
        grow = 1 + 0.3 * lesion_scale * true["Cardiomegaly"]
        centre = (int(w * rng.uniform(0.3, 0.36)), int(h * rng.uniform(0.6, 0.64)))
        axes = (int(w * 0.16 * grow), int(h * 0.12 * grow))
    heart = cv2.ellipse(np.zeros((h, w), np.uint8), centre, axes, rng.uniform(-10, 10), 0, 360, 1, -1) > 0
    img[heart] = rng.uniform(160, 175)
    draw_signs(rng, img, [(m & ~heart, box) for m, box in lungs], true, s, strength)   # the signs: lungs only
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_patient(job):
    """Draw and write every film of one patient (a job of ``generate_chexpert``)."""
    seed, films, size_range, lesion_scale = job
    rng = np.random.default_rng(seed)
    for path, frontal, ap, true in films:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        img = draw_chest(rng, size_range, frontal, ap, true, lesion_scale)
        cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def plan_patient(rng, split, number, prevalence):
    """(rows of train/test.csv, [(study folder, true labels)], [(relative path, frontal, AP, true)]) of a patient."""
    sex = "Male" if rng.random() < 0.55 else "Female"
    age = int(np.clip(rng.normal(60, 17), 18, 90))
    rows, studies, films = [], [], []
    kinds, p = list(STUDY_KINDS), np.array(list(STUDY_KINDS.values()))
    for k in range(1, int(rng.choice([1, 2, 3], p=[0.6, 0.25, 0.15])) + 1):
        folder = f"{ROOT}/{split}/patient{number:05d}/study{k}"
        labels, true = sample_study(rng, prevalence)
        studies.append((folder, true))
        n_frontal, n_lateral = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
        for i, frontal in enumerate([True] * n_frontal + [False] * n_lateral, start=1):
            path = f"{folder}/view{i}_{'frontal' if frontal else 'lateral'}.jpg"
            ap = ("AP" if rng.random() < 0.75 else "PA") if frontal else None
            rows.append({"Path": path, "Sex": sex, "Age": age + k - 1, "Frontal/Lateral":
                         "Frontal" if frontal else "Lateral", "AP/PA": ap, **labels})
            films.append((path, frontal, ap == "AP", true))
    return rows, studies, films


def generate_chexpert(cfg, out, n_train, n_test, seed=0, size_range=(160, 224), lesion_scale=1.0, workers=None):
    """Write the synthetic CheXpert set under ``out``: train_set/CheXpert-v1.0-small/ (train.csv, train/),
    test_set/CheXpert-v1.0-small/ (test.csv, test/) and groundtruth.csv (per test study: the 5 competition
    observations as 0/1); n_train / n_test are numbers of patients. Returns {"train": train.csv's table,
    "test": the ground truth}."""
    out = Path(out)
    prevalence = float((cfg.get("demo") or {}).get("prevalence", 0.35))
    rng = np.random.default_rng(seed)
    first = {"train": 1, "test": max(FIRST_TEST_PATIENT, n_train + 1)}
    tables, jobs, truth = {}, [], []
    for name, n in (("train", n_train), ("test", n_test)):
        base = out / f"{name}_set"
        (base / ROOT).mkdir(parents=True, exist_ok=True)
        rows = []
        for i in range(n):
            r, studies, films = plan_patient(rng, name, first[name] + i, prevalence)
            rows += r
            if name == "test":
                truth += [{"Study": f, **{c: t[c] for c in COMPETITION}} for f, t in studies]
            jobs.append((int(rng.integers(2 ** 31)), [(str(base / p), f, ap, t) for p, f, ap, t in films],
                         tuple(size_range), float(lesion_scale)))
        tables[name] = pd.DataFrame(rows, columns=META + OBSERVATIONS)
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        list(pool.map(write_patient, jobs, chunksize=4))
    tables["train"].to_csv(out / "train_set" / ROOT / "train.csv", index=False)
    tables["test"][META].to_csv(out / "test_set" / ROOT / "test.csv", index=False)
    groundtruth = pd.DataFrame(truth, columns=["Study"] + COMPETITION)
    groundtruth.to_csv(out / "groundtruth.csv", index=False)
    return {"train": tables["train"], "test": groundtruth}
