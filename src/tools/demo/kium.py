"""The synthetic K-ium stand-in (8 angiography views per patient, Aneurysm + 21 locations) in the real layout.

The anatomy is derived from the task config, not hard-coded: every view gets a vessel tree whose branch
ends are the locations that view can show (the visibility map); the mirrored view of a pair is drawn
mirrored. A patient's aneurysm is a small dark blob on the branch end of its location, drawn in every view
that shows that location, with per-patient jitter. Nuisances: sizes and aspect ratios, dark frames with a
tick ruler and burned-in text, gray and RGB JPEGs, distractor vessels, a few non-vessel images.
"""
import math
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ...utilities import config as C
from .cxr import smooth_noise

# K-ium label statistics from the brief: patients with n locations, among patients with an aneurysm
N_LOCATIONS_WEIGHTS = {1: 402, 2: 92, 3: 23, 4: 4, 5: 2}


def view_layout(cfg):
    """{view: ({location: (x, y)}, mirrored)} in unit coordinates, from the visibility and mirror maps."""
    mirrored = {b for _, b in (cfg["mirror"] or {}).get("views", [])}
    layout = {}
    for view in C.views(cfg):
        locs = (cfg["visibility"] or {}).get(view) or C.location_columns(cfg)
        n = len(locs)
        pts = {}
        for i, loc in enumerate(locs):
            theta = math.pi * (0.12 + 0.76 * (i / max(n - 1, 1)))
            pts[loc] = (0.5 - 0.32 * math.cos(theta), 0.52 - 0.30 * math.sin(theta))
        layout[view] = (pts, view in mirrored)
    return layout


def sample_labels(rng, cfg, stats):
    cols, locs, prim = C.target_columns(cfg), C.location_columns(cfg), C.primary(cfg)
    row = dict.fromkeys(cols, 0)
    if rng.random() < stats["aneurysm_rate"]:
        row[prim] = 1
        counts = np.array(list(N_LOCATIONS_WEIGHTS.values()), float)
        n = int(rng.choice(list(N_LOCATIONS_WEIGHTS), p=counts / counts.sum()))
        w = np.array([stats["location_weights"].get(c, 1.0) for c in locs], float)
        for c in rng.choice(locs, size=min(n, len(locs)), replace=False, p=w / w.sum()):
            row[c] = 1
    return row


def draw_view(rng, size_range, pts, mirrored, lesions, lesion_scale):
    s = int(rng.integers(size_range[0], size_range[1] + 1))
    h, w = (s, s) if rng.random() > 0.15 else (s, int(s * rng.uniform(1.2, 1.67)))
    img = (rng.uniform(150, 200) + smooth_noise(rng, h, w)).astype(np.float32)
    side = min(h, w)
    ox, oy = (w - side) / 2, (h - side) / 2
    jit = rng.normal(0, 0.02, 2)
    scale = rng.uniform(0.94, 1.06)

    def px(p):
        x, y = p
        x = 1 - x if mirrored else x
        x, y = 0.5 + (x - 0.5) * scale + jit[0], 0.5 + (y - 0.5) * scale + jit[1]
        return int(ox + x * side), int(oy + y * side)

    vessel = float(rng.uniform(60, 95))
    thick = max(1, int(side * 0.009))
    base = px((0.5, 0.97))
    hub = px((0.5, 0.6))
    cv2.line(img, base, hub, vessel, thick + 1, cv2.LINE_AA)
    for p in pts.values():
        mid = px((0.5 + (p[0] - 0.5) * 0.5, 0.6 + (p[1] - 0.6) * 0.5 + rng.normal(0, 0.02)))
        cv2.polylines(img, [np.array([hub, mid, px(p)], np.int32)], False, vessel, thick, cv2.LINE_AA)
    for _ in range(int(rng.integers(3, 8))):       # distractor vessels
        a = rng.uniform(0.1, 0.9, (4, 2))
        cv2.polylines(img, [np.array([px(q) for q in a], np.int32)], False, vessel + rng.uniform(0, 30),
                      max(1, thick // 2), cv2.LINE_AA)
    for loc in lesions:
        if loc in pts:
            r = max(2, int(side * 0.011 * lesion_scale * rng.uniform(0.85, 1.3)))
            c = px(pts[loc])
            c = (c[0] + int(rng.normal(0, r * 0.4)), c[1] + int(rng.normal(0, r * 0.4)))
            cv2.circle(img, c, r, float(rng.uniform(20, 45)), -1, cv2.LINE_AA)
    img += rng.normal(0, 5, img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.02:                        # not a vessel image at all
        img = np.clip(rng.normal(120, 40, img.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        img = add_frame(rng, img)
    return img


def add_frame(rng, img):
    """Dark frame with a tick-mark ruler and burned-in text, as on some scanner exports."""
    h, w = img.shape
    b = int(min(h, w) * rng.uniform(0.04, 0.09))
    out = cv2.copyMakeBorder(img, b, b, b, b, cv2.BORDER_CONSTANT, value=0)
    for x in range(b, w + b, max(4, w // 25)):
        cv2.line(out, (x, h + b + 2), (x, h + b + b // 2), 230, 1)
    cv2.putText(out, f"ID {rng.integers(10000, 99999)}  {rng.integers(60, 95)}kV", (b, max(10, b - 4)),
                cv2.FONT_HERSHEY_SIMPLEX, max(0.3, b / 40), 255, 1, cv2.LINE_AA)
    return out


def write_patient(job):
    folder, sid, seed, lesions, layout, size_range, lesion_scale, pattern = job
    rng = np.random.default_rng(seed)
    for view, (pts, mirrored) in layout.items():
        img = draw_view(rng, size_range, pts, mirrored, lesions, lesion_scale)
        if rng.random() < 0.3:                     # RGB JPEG with a faint tint
            img = cv2.merge([img, img, np.clip(img.astype(int) + 3, 0, 255).astype(np.uint8)])
        cv2.imwrite(str(Path(folder) / f"{pattern.format(id=sid, view=view)}.jpg"), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 92])


def generate(cfg, out, n_train, n_test, seed=0, size_range=(720, 1255), lesion_scale=1.0, workers=None):
    out = Path(out)
    id_col, cols, locs = cfg["data"]["id_column"], C.target_columns(cfg), C.location_columns(cfg)
    demo = cfg["demo"]
    stats = dict(aneurysm_rate=float(demo.get("primary_rate", 0.46)),
                 location_weights=demo.get("location_weights", {}))
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(np.arange(1, 10 * (n_train + n_test) + 10), n_train + n_test, replace=False))
    perm = rng.permutation(len(ids))
    split = {"train": np.sort(ids[perm[:n_train]]), "test": np.sort(ids[perm[n_train:]])}
    layout = view_layout(cfg)
    jobs, tables = [], {}
    for name, folder in (("train", out / "train_set"), ("test", out / "test_set")):
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for sid in split[name]:
            row = sample_labels(rng, cfg, stats)
            rows.append({id_col: int(sid), **row})
            lesions = [c for c in locs if row[c]]
            jobs.append((str(folder), int(sid), int(rng.integers(2**31)), lesions, layout, size_range,
                         lesion_scale, cfg["data"]["file_pattern"]))
        tables[name] = pd.DataFrame(rows, columns=[id_col] + cols)
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        list(pool.map(write_patient, jobs, chunksize=4))
    tables["train"].to_csv(out / "train_set" / cfg["data"]["train_csv"], index=False)
    blank = tables["test"].copy()
    blank[cols] = 0
    blank.to_csv(out / "test_set" / cfg["data"]["test_csv"], index=False)
    tables["test"].to_csv(out / "groundtruth.csv", index=False)
    return tables
