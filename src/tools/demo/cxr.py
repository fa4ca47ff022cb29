"""Synthetic chest X-rays with lung masks and an edema grade 0-3 (the CHF study's layout).

A bright body on a dark background with two dark, air-filled lungs and a heart; edema is drawn inside the
lungs only (bright blotches and a diffuse haze, in proportion to the grade); equally strong blotches and haze
outside the lungs are drawn independently of the grade. With ``confounders`` > 0 some films are also
"ICU films": a text tag in a corner, a device line down the mediastinum and a pacemaker-like box, all outside
the lungs, whose frequency rises with the grade in the training split only (in the test split every grade
gets the training split's overall rate): the shortcut that misleads a CNN seeing the whole film.
"""
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ...utilities import config as C

TAG = "PORTABLE"


def smooth_noise(rng, h, w, cells=6, amp=25.0):
    small = rng.normal(0, 1, (cells, cells)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * amp


def confounder_rate(grade, n_grades, strength):
    """Probability that a training film of ``grade`` is an ICU film: 0.5 -/+ strength/2 from the lowest to
    the highest grade (strength 1: never at grade 0, always at the top grade)."""
    return float(np.clip(0.5 + strength * (grade / max(n_grades - 1, 1) - 0.5), 0.0, 1.0))


def draw_icu_film(rng, img, mask, s):
    """A text tag in a top corner, a bright device line down the middle and (often) a pacemaker-like box,
    none of them on the lungs or near them."""
    h, w = img.shape
    layer = np.zeros((h, w), np.float32)
    scale = max(0.25, s / 700)
    x0 = int(w * 0.03) if rng.random() < 0.5 else int(w * 0.97) - cv2.getTextSize(TAG, 0, scale, 1)[0][0]
    cv2.putText(layer, TAG, (x0, int(h * 0.07)), cv2.FONT_HERSHEY_SIMPLEX, scale, 1.0, 1, cv2.LINE_AA)
    xs = int(w * rng.uniform(0.47, 0.53))
    line = np.array([(xs, 0), (xs + int(w * rng.normal(0, 0.01)), int(h * 0.35)),
                     (int(w * rng.uniform(0.48, 0.52)), int(h * 0.62))], np.int32)
    cv2.polylines(layer, [line], False, 1.0, max(1, int(s * 0.008)), cv2.LINE_AA)
    if rng.random() < 0.7:
        cx = int(w * (0.2 if rng.random() < 0.5 else 0.8))
        cy = int(h * rng.uniform(0.08, 0.12))
        cv2.rectangle(layer, (cx - int(s * 0.03), cy - int(s * 0.02)), (cx + int(s * 0.03), cy + int(s * 0.02)),
                      1.0, -1)
    clear = cv2.dilate(mask, np.ones((max(3, int(s * 0.1)),) * 2, np.uint8)) == 0     # well away from the lungs
    img += layer * clear * 110.0


def draw_cxr(rng, size_range, grade, n_grades, icu_rate=0.0, contrast=1.0):
    """(image, lung mask) of a chest-X-ray-like picture: edema (bright blotches and haze)
    inside the lungs in proportion to the grade, and equally strong blotches and haze outside the lungs drawn
    independently of it, all x ``contrast``; with probability ``icu_rate`` the ICU-film confounders."""
    s = int(rng.integers(size_range[0], size_range[1] + 1))
    h, w = s, int(s * rng.uniform(0.9, 1.1))
    img = (rng.uniform(20, 40) + smooth_noise(rng, h, w, amp=8)).astype(np.float32)
    cv2.ellipse(img, (w // 2, int(h * 0.55)), (int(w * 0.45), int(h * 0.48)), 0, 0, 360, 150, -1)   # body
    mask = np.zeros((h, w), np.uint8)
    for side in (-1, 1):
        c = (int(w * (0.5 + side * rng.uniform(0.18, 0.22))), int(h * rng.uniform(0.45, 0.52)))
        axes = (int(w * rng.uniform(0.12, 0.15)), int(h * rng.uniform(0.27, 0.32)))
        cv2.ellipse(mask, c, axes, side * rng.uniform(0, 8), 0, 360, 255, -1)
    img[mask > 0] = rng.uniform(55, 75)                                       # dark, air-filled lungs
    cv2.ellipse(img, (int(w * 0.53), int(h * 0.62)), (int(w * 0.11), int(h * 0.12)), 0, 0, 360, 170, -1)  # heart
    ys, xs = np.nonzero(mask)
    oy, ox = np.nonzero((mask == 0) & (img > 100))

    def blotches(n, pool_y, pool_x):
        for _ in range(n):
            k = int(rng.integers(len(pool_y)))
            r = max(2, int(s * rng.uniform(0.02, 0.035)))
            layer = np.zeros((h, w), np.float32)
            cv2.circle(layer, (int(pool_x[k]), int(pool_y[k])), r, 1.0, -1)
            img[:] += cv2.GaussianBlur(layer, (0, 0), r / 2) * rng.uniform(35, 55) * contrast

    per_grade = 3
    blotches(grade * per_grade, ys, xs)
    blotches(int(rng.integers(0, (n_grades - 1) * per_grade + 1)), oy, ox)       # distractors: random count
    haze = 9.0 * contrast                                                         # diffuse opacity per grade
    img[mask > 0] += grade * haze
    img[(mask == 0) & (img > 100)] += rng.uniform(0, (n_grades - 1) * haze)      # distractor: same range
    if icu_rate > 0 and rng.random() < icu_rate:                                 # no draw: same default images
        draw_icu_film(rng, img, mask, s)
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), mask


def generate_cxr(cfg, out, n_train, n_test, seed=0, size_range=(256, 320), confounders=0.0, contrast=1.0):
    """train_set/ (images, masks, train.csv), test_set/ (images, test.csv) and groundtruth.csv under ``out``;
    ``confounders``: the strength of the grade-linked ICU-film shortcut in the training split (0 = none);
    ``contrast``: of the edema (and of the look-alikes outside the lungs; lower: harder)."""
    out = Path(out)
    id_col, cols = cfg["data"]["id_column"], C.target_columns(cfg)
    src = cfg["targets"]["source_column"]
    weights = np.array(cfg["demo"].get("grade_weights", [1] * len(cols)), float)
    weights /= weights.sum()
    train_rates = [confounder_rate(g, len(cols), confounders) if confounders > 0 else 0.0 for g in range(len(cols))]
    test_rate = float(np.dot(weights, train_rates))                    # the same overall rate, not tied to the grade
    rng = np.random.default_rng(seed)
    tables = {}
    for name, n, offset in (("train", n_train, 0), ("test", n_test, n_train)):
        folder = out / f"{name}_set"
        (folder / cfg["data"]["image_dir"]).mkdir(parents=True, exist_ok=True)
        if name == "train":
            (folder / cfg["data"]["mask_dir"]).mkdir(parents=True, exist_ok=True)
        rows = []
        for i in range(n):
            sid = f"cxr{offset + i:05d}"
            grade = int(rng.choice(len(cols), p=weights))
            img, mask = draw_cxr(rng, size_range, grade, len(cols),
                                 train_rates[grade] if name == "train" else test_rate, contrast)
            cv2.imwrite(str(folder / cfg["data"]["image_dir"] / f"{sid}.png"), img)
            if name == "train":
                cv2.imwrite(str(folder / cfg["data"]["mask_dir"] / f"{sid}.png"), mask)
            rows.append({id_col: sid, src: grade})
        tables[name] = pd.DataFrame(rows)
    tables["train"].to_csv(out / "train_set" / cfg["data"]["train_csv"], index=False)
    tables["test"][[id_col]].to_csv(out / "test_set" / cfg["data"]["test_csv"], index=False)
    truth = pd.DataFrame({id_col: tables["test"][id_col]})
    for j, c in enumerate(cols):
        truth[c] = (tables["test"][src] == j).astype(int)
    truth.to_csv(out / "groundtruth.csv", index=False)
    return tables
