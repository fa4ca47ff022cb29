"""Synthetic diabetic-retinopathy fundus photographs (FGADR / IDRiD layout) with per-lesion masks and a DR grade.

An orange-red disc on black (some images wide, as in IDRiD) with an optic disc, a macula and a vessel tree
arcing round it; the lesions (MA microaneurysms, HE haemorrhages, EX hard exudates, SE soft exudates) follow
the grade, each drawn into its own mask exactly where it is painted; then uneven illumination, noise, JPEG.
"""
import math
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

# per grade: lesion -> (min, max) count, inclusive (EX counts specks)
GRADE_COUNTS = [{},
                {"MA": (1, 5)},
                {"MA": (3, 10), "HE": (1, 4), "EX": (0, 6)},
                {"MA": (5, 15), "HE": (4, 10), "EX": (5, 20), "SE": (0, 3)},
                {"MA": (8, 20), "HE": (8, 16), "EX": (10, 30), "SE": (2, 5)}]
# lesion -> (RGB colour it is drawn towards, strength range)
LESION_LOOK = {"MA": ((105, 18, 12), (0.6, 0.9)), "HE": ((115, 22, 14), (0.55, 0.85)),
               "EX": ((255, 238, 115), (0.5, 0.85)), "SE": ((240, 232, 210), (0.5, 0.8))}


def smooth_field(rng, h, w, cells=4, amp=1.0):
    small = rng.normal(0, 1, (cells, cells)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * amp


def blend(img, alpha, colour):
    """Move ``img`` (h, w, 3 float RGB) towards ``colour`` by ``alpha`` (h, w) in 0..1."""
    a = np.clip(alpha, 0, 1)[..., None]
    img *= 1 - a
    img += a * np.asarray(colour, np.float32)


def draw_vessels(rng, img, od, mac, D, s):
    """8-14 dark-red curved branches from the optic disc: most arc above or below the macula, some go nasal."""
    layer = np.zeros(img.shape[:2], np.uint8)
    toward = 1.0 if mac[0] > od[0] else -1.0
    for i in range(int(rng.integers(8, 15))):
        v, rate = (1.0 if i % 2 else -1.0), rng.uniform(0.06, 0.2)
        if rng.random() < 0.7:                     # temporal arcade: leaves vertically, bends round the macula
            theta = math.atan2(v, toward * rng.uniform(0.05, 0.4))
            target = math.atan2(v * rng.uniform(-0.3, 0.3), toward)
        else:                                      # nasal branch
            theta = target = math.atan2(v * rng.uniform(0.1, 1.5), -toward)
        x, y = od[0] + rng.normal(0, 0.01 * D), od[1] + rng.normal(0, 0.01 * D)
        pts = [(x, y)]
        step = D * rng.uniform(0.03, 0.04)
        for _ in range(int(rng.integers(12, 24))):
            theta += ((target - theta + math.pi) % (2 * math.pi) - math.pi) * rate + rng.normal(0, 0.05)
            x, y = x + step * math.cos(theta), y + step * math.sin(theta)
            pts.append((x, y))
        thick = max(1, int(round(rng.uniform(1, 3) * s / 320)))
        pts = np.array(pts, np.int32)
        val = int(255 * rng.uniform(0.5, 0.75))
        for k, part in enumerate(np.array_split(np.arange(len(pts)), 3)):
            seg = pts[max(part[0] - 1, 0):part[-1] + 1]
            cv2.polylines(layer, [seg], False, val, max(1, thick - k), cv2.LINE_AA)
    blend(img, layer.astype(np.float32) / 255, (150, 38, 26))


def lesion_spot(rng, centre, od, r_od, R):
    """A random lesion centre inside the disc, mostly away from the optic disc."""
    for _ in range(100):
        c = centre + rng.uniform(-R, R, 2) * 0.88
        if np.hypot(*(c - centre)) < 0.86 * R and (np.hypot(*(c - od)) > 1.6 * r_od or rng.random() < 0.05):
            return c
    return centre


def lesion_ellipses(rng, name, n, spot, D):
    """(centre, axis, axis) of the ellipses of ``n`` lesions of one type; EX specks come in clusters of 3-8."""
    out = []
    while n > 0:
        c, k = spot(), (min(n, int(rng.integers(3, 9))) if name == "EX" else 1)
        n -= k
        if name == "MA":
            r = D * rng.uniform(0.003, 0.006)
            out.append((c, r, r))
        elif name == "EX":
            out += [(c + rng.normal(0, D * 0.015, 2), r, r * rng.uniform(0.6, 1))
                    for r in D * rng.uniform(0.004, 0.012, k)]
        elif name == "HE":                         # a blot of a few overlapping ellipses
            r = D * rng.uniform(0.01, 0.03)
            out += [(c + rng.normal(0, r * 0.4, 2), r * rng.uniform(0.5, 1), r * rng.uniform(0.4, 0.8))
                    for _ in range(int(rng.integers(2, 5)))]
        else:
            r = D * rng.uniform(0.02, 0.04)
            out.append((c, r * rng.uniform(0.7, 1), r * rng.uniform(0.5, 0.8)))
    return out


def draw_lesions(rng, img, counts, centre, R, od, r_od, contrast):
    """Paint the lesions into ``img``; return {lesion: 0/255 mask} of the types drawn, each exactly where painted."""
    h, w = img.shape[:2]
    centre, masks = np.asarray(centre, float), {}
    for name, n in counts.items():
        colour, (lo, hi) = LESION_LOOK[name]
        mask, alpha = np.zeros((h, w), np.uint8), np.zeros((h, w), np.float32)
        for c, a, b in lesion_ellipses(rng, name, n, lambda: lesion_spot(rng, centre, od, r_od, R), 2 * R):
            args = ((int(c[0]), int(c[1])), (max(1, int(round(a))), max(1, int(round(b)))), rng.uniform(0, 180), 0, 360)
            strength = rng.uniform(lo, hi)
            if name == "SE":                       # soft edge; the mask is where it is above half its peak
                blob = cv2.GaussianBlur(cv2.ellipse(np.zeros((h, w), np.float32), *args, 1.0, -1), (0, 0), a * 0.5)
                blob /= max(float(blob.max()), 1e-6)
                mask[blob > 0.5] = 255
                np.maximum(alpha, blob * strength, out=alpha)
            else:
                cv2.ellipse(mask, *args, 255, -1)
                cv2.ellipse(alpha, *args, strength, -1)
        if mask.any():
            blend(img, (alpha if name == "SE" else cv2.GaussianBlur(alpha, (0, 0), 0.5)) * contrast, colour)
            masks[name] = mask
    return masks


def draw_fundus(rng, size_range, grade, names, contrast):
    """(RGB uint8 image, {lesion: mask}) of one fundus photograph of DR ``grade``."""
    s = int(rng.integers(size_range[0], size_range[1] + 1))
    h, w = s, (int(s * rng.uniform(1.3, 1.5)) if rng.random() < 0.3 else s)
    R = s * rng.uniform(0.92, 0.98) / 2
    cx, cy = w / 2 + rng.normal(0, 0.005 * s), h / 2 + rng.normal(0, 0.005 * s)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(xx - cx, yy - cy) / R
    base = np.array([rng.uniform(200, 230), rng.uniform(90, 120), rng.uniform(40, 70)], np.float32)
    img = base + np.dstack([smooth_field(rng, h, w, 4, a) for a in (9, 7, 5)])
    img += smooth_field(rng, h, w, 24, 3.5)[..., None]                                 # fine choroid texture
    img *= (1 - 0.22 * np.clip((r - 0.8) / 0.2, 0, 1) ** 1.5)[..., None]              # darker rim
    # optic disc on one side, macula ~2.5 disc diameters to the other
    side = 1 if rng.random() < 0.5 else -1
    D = 2 * R
    r_od = D * 0.075 * rng.uniform(0.9, 1.1)
    od = np.array([cx + side * (rng.uniform(0.25, 0.35) - 0.5) * D, cy + rng.normal(0, 0.03 * D)])
    mac = np.array([od[0] + side * 2.5 * 2 * r_od * rng.uniform(0.9, 1.1), cy + rng.normal(0, 0.02 * D)])
    d_mac = np.hypot(xx - mac[0], yy - mac[1]) / (2 * r_od)
    blend(img, 0.55 * np.exp(-d_mac ** 2 / (2 * 0.45 ** 2)), (125, 62, 32))
    d_od = np.hypot(xx - od[0], yy - od[1]) / r_od
    blend(img, 0.9 * np.clip((1.0 - d_od) / 0.15, 0, 1), (245, 212, 140))
    blend(img, 0.6 * np.exp(-d_od ** 2 / (2 * 0.3 ** 2)), (252, 242, 205))
    draw_vessels(rng, img, od, mac, D, s)
    counts = {n: int(rng.integers(lo, hi + 1)) for n, (lo, hi) in GRADE_COUNTS[min(grade, 4)].items() if n in names}
    masks = draw_lesions(rng, img, counts, (cx, cy), R, od, r_od, contrast)
    # uneven illumination: a linear gradient plus a vignette, rescaled to [lo, hi] over the disc
    phi = rng.uniform(0, 2 * math.pi)
    field = ((xx - cx) * math.cos(phi) + (yy - cy) * math.sin(phi)) / R * rng.uniform(0.8, 1.2)
    field -= rng.uniform(0.2, 0.5) * r ** 2 - smooth_field(rng, h, w, 3, 0.08)
    disc = r < 1
    f_lo, f_hi = float(field[disc].min()), float(field[disc].max())
    lo, hi = rng.uniform(0.45, 0.6), rng.uniform(0.95, 1.1)
    img *= (lo + (field - f_lo) / max(f_hi - f_lo, 1e-6) * (hi - lo))[..., None]
    img *= np.clip((1 - r) * R + 0.5, 0, 1)[..., None]                                 # black outside
    img += rng.normal(0, 3, img.shape).astype(np.float32)
    masks = {k: np.where(disc, m, 0).astype(np.uint8) for k, m in masks.items()}
    return np.clip(img, 0, 255).astype(np.uint8), {k: m for k, m in masks.items() if m.any()}


def write_fundus(job):
    image_path, mask_root, sid, seed, grade, names, size_range, contrast = job
    img, masks = draw_fundus(np.random.default_rng(seed), size_range, grade, names, contrast)
    cv2.imwrite(image_path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    for name, m in masks.items():
        (Path(mask_root) / name).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(Path(mask_root) / name / f"{sid}.png"), m)
    return sorted(masks)


def generate_fundus(cfg, out, n_train, n_test, seed=0, size_range=(288, 384), lesion_contrast=1.0, workers=None):
    """Write a synthetic fundus set under ``out`` (train_set/, test_set/, groundtruth/); return the grade tables."""
    out, data = Path(out), cfg["data"]
    id_col, grade_col = data["id_column"], cfg["targets"]["grade_column"]
    names = list(cfg["targets"]["columns"])
    n_grades = int(cfg["targets"]["grade_classes"])
    weights = np.array(cfg["demo"].get("grade_weights", [1] * n_grades), float)
    weights /= weights.sum()
    rng = np.random.default_rng(seed)
    jobs, tables = [], {}
    for name, n, offset in (("train", n_train, 0), ("test", n_test, n_train)):
        folder = out / f"{name}_set"
        (folder / data["image_dir"]).mkdir(parents=True, exist_ok=True)
        mask_root = folder / data["mask_dir"] if name == "train" else out / "groundtruth"
        mask_root.mkdir(parents=True, exist_ok=True)
        rows = []
        for i in range(n):
            sid = f"fun{offset + i:05d}"
            grade = int(rng.choice(n_grades, p=weights))
            rows.append({id_col: sid, grade_col: grade})
            jobs.append((str(folder / data["image_dir"] / f"{sid}.jpg"), str(mask_root), sid,
                         int(rng.integers(2**31)), grade, names, tuple(size_range), float(lesion_contrast)))
        tables[name] = pd.DataFrame(rows, columns=[id_col, grade_col])
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        list(pool.map(write_fundus, jobs, chunksize=4))
    tables["train"].to_csv(out / "train_set" / data["train_csv"], index=False)
    tables["test"][[id_col]].to_csv(out / "test_set" / data["test_csv"], index=False)
    tables["test"].to_csv(out / "groundtruth" / "grades.csv", index=False)
    return tables
