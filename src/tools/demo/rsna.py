"""Synthetic RSNA 2023 screening-mammography stand-in (train_set/, test_set/, groundtruth.csv) in the real layout.

Every patient has both breasts, each with a CC and an MLO view (some a second CC or MLO, a few percent a rare ML,
LM, AT or LMO view as well), written as DICOM (MG) files: a bright half-ellipse of breast with smooth
fibroglandular texture (stronger for a denser breast) against a dark background, attached to the left image edge
for a left breast and to the right edge for a right one; the oblique views are taller and have a brighter
pectoral muscle in the corner, implants show as a large bright oval near the chest wall. A cancer breast has a
compact bright mass (radius ~6% of the image side, and contrast, x lesion_scale) with a few spicules in every view
of that breast, at the same place relative to the breast, so that views can be combined; any breast may have
smaller, dimmer benign spots, also at the same place in each view. Nuisances: 12/14/16 bits stored, MONOCHROME1
(inverted) files, about 1 in 6 JPEG 2000 lossless, with or without a window. The clinical columns (biopsy,
invasive, BIRADS, density, ...) are drawn correlated with the label as in the real train.csv; the cancer rate
per breast is cfg["demo"]["cancer_rate"] (default 0.3, not the real 2%, so that a small demo set can learn).
"""
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import JPEG2000Lossless, generate_uid

from .cxr import smooth_noise

TRAIN_COLUMNS = ["site_id", "patient_id", "image_id", "laterality", "view", "age", "cancer", "biopsy", "invasive",
                 "BIRADS", "implant", "density", "machine_id", "difficult_negative_case"]
TEST_COLUMNS = ["site_id", "patient_id", "image_id", "laterality", "view", "age", "implant", "machine_id",
                "prediction_id"]
MACHINES = [21, 29, 48, 49, 93, 170, 190, 197, 210, 216]
RARE_VIEWS = ["ML", "LM", "AT", "LMO"]
DENSITIES = "ABCD"
MAMMO_SOP = "1.2.840.10008.5.1.4.1.1.1.2"          # Digital Mammography X-Ray Image Storage - For Presentation


def breast_spot(rng, depth=(0.25, 0.7)):
    """A place inside the breast in breast coordinates: (depth from the chest wall as a fraction of the breast's
    depth, height from -1 top to 1 bottom as a fraction of the breast's half-height there)."""
    return float(rng.uniform(*depth)), float(rng.uniform(-0.6, 0.6))


def sample_breast(rng, rate):
    """Labels, clinical columns, views and the drawn findings of one breast."""
    cancer = int(rng.random() < rate)
    biopsy = int(cancer or rng.random() < 0.05)
    birads = int(rng.choice(3, p=[0.8, 0.1, 0.1] if cancer else [0.08, 0.55, 0.37]))
    views = ["CC", "MLO"]
    if rng.random() < 0.12:                                      # a repeated view
        views.append(str(rng.choice(["CC", "MLO"], p=[0.3, 0.7])))
    if rng.random() < 0.05:                                      # a rare extra view
        views.append(str(rng.choice(RARE_VIEWS)))
    n_spots = int(rng.choice(3, p=[0.5, 0.3, 0.2]))
    return dict(cancer=cancer, biopsy=biopsy, invasive=int(cancer and rng.random() < 0.7),
                BIRADS=pd.NA if rng.random() < 0.3 else birads,
                difficult_negative_case=bool(not cancer and (biopsy or rng.random() < 0.1)), views=views,
                mass=breast_spot(rng) if cancer else None,
                spots=[(*breast_spot(rng, (0.15, 0.85)), float(rng.uniform(0.015, 0.03)),
                        float(rng.uniform(0.07, 0.14))) for _ in range(n_spots)])


def sample_patient(rng, rate):
    """Patient-level columns and {laterality: breast} of one patient."""
    patient = dict(site_id=int(rng.integers(1, 3)),
                   age=int(np.clip(rng.normal(58, 10), 26, 89)) if rng.random() > 0.03 else pd.NA,
                   implant=int(rng.random() < 0.03), machine_id=int(rng.choice(MACHINES)),
                   density=str(rng.choice(list(DENSITIES), p=[0.1, 0.45, 0.38, 0.07])) if rng.random() > 0.2
                   else pd.NA)
    return patient, {lat: sample_breast(rng, rate) for lat in "LR"}


def draw_mammogram(rng, size_range, lat, view, breast, density, implant, lesion_scale):
    """One view of a breast as floats in 0..1 (H >= W): the breast attached to the left edge (L) or right edge (R),
    its mass and benign spots at their breast coordinates with a little jitter per view."""
    s = int(rng.integers(size_range[0], size_range[1] + 1))
    h, w = s, max(8, int(round(s * rng.uniform(0.8, 1.0))))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = (xx if lat == "L" else w - 1 - xx) / w, yy / h            # x: depth from the chest wall
    oblique = view != "CC"
    a, cy = rng.uniform(0.62, 0.85), rng.uniform(0.46, 0.52) + (0.06 if oblique else 0.0)
    b_up = rng.uniform(0.5, 0.56) if oblique else rng.uniform(0.38, 0.44)
    b_low = rng.uniform(0.36, 0.42) if oblique else b_up
    r2 = (x / a) ** 2 + ((y - cy) / np.where(y < cy, b_up, b_low)) ** 2
    thick = np.sqrt(np.clip(1 - r2, 0, 1))
    dens = DENSITIES.index(density) if isinstance(density, str) else 1
    breast_area = r2 < 1
    tissue = (0.45 + 0.2 * thick + smooth_noise(rng, h, w, 7, 0.035 + 0.025 * dens) * np.sqrt(thick)
              + smooth_noise(rng, h, w, 18, 0.02))
    if oblique:                                                        # pectoral muscle in the upper corner
        pw, ph = rng.uniform(0.2, 0.3), rng.uniform(0.3, 0.45)
        muscle = (x < pw * (1 - y / ph)).astype(np.float32)
        tissue += 0.15 * cv2.GaussianBlur(muscle, (0, 0), max(0.8, s * 0.008))
        breast_area |= muscle > 0
    inside = cv2.GaussianBlur(breast_area.astype(np.float32), (0, 0), max(0.8, s * 0.006))
    side = min(h, w)

    def place(d, v):
        d, v = d + rng.normal(0, 0.02), v + rng.normal(0, 0.04)
        px = d * a * w
        return (int(px) if lat == "L" else int(w - 1 - px)), int((cy + v * (b_up if v < 0 else b_low)
                                                                  * np.sqrt(max(0.0, 1 - d * d))) * h)

    layer = np.zeros((h, w), np.float32)
    if implant:
        cv2.ellipse(layer, place(0.2, 0.0), (int(a * w * 0.18), int(h * b_low * 0.6)), 0, 0, 360, 0.3, -1)
    for d, v, frac, amp in breast["spots"]:
        cv2.circle(layer, place(d, v), max(1, int(round(side * frac * rng.uniform(0.85, 1.15)))), amp, -1)
    if breast["mass"] is not None:
        c, r = place(*breast["mass"]), max(2.0, side * 0.06 * lesion_scale * rng.uniform(0.85, 1.15))
        amp = 0.3 * lesion_scale
        cv2.ellipse(layer, c, (int(r), int(r * rng.uniform(0.75, 1.0))), rng.uniform(0, 180), 0, 360, amp, -1)
        for t in rng.uniform(0, 2 * np.pi, int(rng.integers(4, 8))):  # spicules
            end = (int(c[0] + np.cos(t) * r * 1.7), int(c[1] + np.sin(t) * r * 1.7))
            cv2.line(layer, c, end, amp * 0.6, 1, cv2.LINE_AA)
    tissue += cv2.GaussianBlur(layer, (0, 0), max(0.6, side * 0.008))
    img = 0.03 + inside * (tissue - 0.03) + rng.normal(0, 0.008, (h, w)).astype(np.float32)
    return np.clip(img, 0, 1)


def mammo_dataset(px, mono1, bits, window, tags):
    """A DICOM data set (MG, For Presentation) around the stored pixels ``px``."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = MAMMO_SOP
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = tags["uids"]
    ds.Modality, ds.PatientID, ds.PatientSex = "MG", tags["patient"], "F"
    ds.Laterality = ds.ImageLaterality = tags["laterality"]
    ds.ViewPosition, ds.BodyPartExamined = tags["view"], "BREAST"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.set_pixel_data(px, "MONOCHROME1" if mono1 else "MONOCHROME2", bits, generate_instance_uid=False)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def write_mammogram(rng, path, img, tags):
    """``img`` (floats 0..1) as a DICOM file of 12, 14 or 16 bits stored, MONOCHROME2 or (inverted) MONOCHROME1,
    with or without a window, about 1 in 6 JPEG 2000 lossless (uncompressed where encoding fails)."""
    bits = int(rng.choice([12, 14, 16], p=[0.55, 0.2, 0.25]))
    top = 2 ** bits - 1
    px = np.rint(img * top * rng.uniform(0.85, 1.0)).astype(np.uint16)
    mono1, j2k = rng.random() < 0.2, rng.random() < 1 / 6
    if mono1:
        px = (top - px).astype(np.uint16)
    window = None
    if rng.random() < 0.6:
        lo, hi = np.percentile(px[img > 0.2], [1, 99]) if (img > 0.2).any() else (0, top)
        window = int((lo + hi) / 2), max(1, int((hi - lo) * rng.uniform(1.0, 1.4)))
    ds = mammo_dataset(px, mono1, bits, window, tags)
    if j2k:
        try:
            ds.compress(JPEG2000Lossless, generate_instance_uid=False)
        except Exception:                                              # no encoder for this depth: keep it raw
            ds = mammo_dataset(px, mono1, bits, window, tags)
    ds.save_as(path, enforce_file_format=True)


def write_patient(job):
    """Draw and write every image of one patient (a job of ``generate_rsna``)."""
    folder, pid, seed, images, breasts, density, implant, size_range, lesion_scale = job
    rng = np.random.default_rng(seed)
    Path(folder).mkdir(parents=True, exist_ok=True)
    study = generate_uid(entropy_srcs=[str(seed), str(pid), "study"])
    for image_id, lat, view in images:
        img = draw_mammogram(rng, size_range, lat, view, breasts[lat], density, implant, lesion_scale)
        uids = tuple(generate_uid(entropy_srcs=[str(seed), str(image_id), k]) for k in ("sop", "series"))
        tags = dict(uids=(uids[0], study, uids[1]), patient=str(pid), laterality=lat, view=view)
        write_mammogram(rng, Path(folder) / f"{image_id}.dcm", img, tags)


def unique_int(rng, used, lo, hi):
    """A random int in [lo, hi) not in ``used`` (which it joins)."""
    while True:
        v = int(rng.integers(lo, hi))
        if v not in used:
            used.add(v)
            return v


def submission_order(ids):
    """The breasts' prediction ids sorted as text; reversed in the rare case that this is their order of first
    appearance in test.csv, so that the sample submission's order always differs from test.csv's."""
    ids = list(dict.fromkeys(ids))
    order = sorted(ids)
    return order[::-1] if order == ids else order


def generate_rsna(cfg, out, n_train, n_test, seed=0, size_range=(192, 256), lesion_scale=1.0, workers=None):
    """Write the synthetic RSNA set under ``out``: train_set/ (train.csv, train_images/), test_set/ (test.csv,
    test_images/, sample_submission.csv) and groundtruth.csv; n_train / n_test are numbers of patients. Returns
    {"train": train.csv's table, "test": the ground truth (prediction_id, cancer)}."""
    out = Path(out)
    rate = float((cfg.get("demo") or {}).get("cancer_rate", 0.3))
    rng = np.random.default_rng(seed)
    pid_used, img_used = set(), set()
    pids = [unique_int(rng, pid_used, 1, max(65535, 4 * (n_train + n_test))) for _ in range(n_train + n_test)]
    split = {"train": sorted(pids[:n_train]), "test": pids[n_train:]}       # test patients in random order
    rows, jobs, truth = {"train": [], "test": []}, [], {}
    for name in ("train", "test"):
        folder = out / f"{name}_set" / f"{name}_images"
        folder.mkdir(parents=True, exist_ok=True)
        for pid in split[name]:
            patient, breasts = sample_patient(rng, rate)
            images = []
            for lat in ("LR" if name == "train" or rng.random() < 0.5 else "RL"):
                b = breasts[lat]
                truth[f"{pid}_{lat}"] = b["cancer"]
                labels = {k: b[k] for k in ("cancer", "biopsy", "invasive", "BIRADS", "difficult_negative_case")}
                for view in b["views"]:
                    image_id = unique_int(rng, img_used, 10 ** 5, 2 ** 31 - 1)
                    images.append((image_id, lat, view))
                    rows[name].append(dict(patient, patient_id=pid, image_id=image_id, laterality=lat, view=view,
                                           prediction_id=f"{pid}_{lat}", **labels))
            jobs.append((str(folder / str(pid)), pid, int(rng.integers(2 ** 31)), images, breasts,
                         patient["density"], patient["implant"], tuple(size_range), float(lesion_scale)))
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        list(pool.map(write_patient, jobs, chunksize=4))
    train = pd.DataFrame(rows["train"], columns=TRAIN_COLUMNS)
    test = pd.DataFrame(rows["test"], columns=TEST_COLUMNS)
    for t in (train, test):
        t["age"] = t["age"].astype("Int64")
    train["BIRADS"] = train["BIRADS"].astype("Int64")
    train.to_csv(out / "train_set" / "train.csv", index=False)
    test.to_csv(out / "test_set" / "test.csv", index=False)
    order = submission_order(test["prediction_id"])
    pd.DataFrame({"prediction_id": order, "cancer": 0}).to_csv(out / "test_set" / "sample_submission.csv",
                                                               index=False)
    groundtruth = pd.DataFrame({"prediction_id": order, "cancer": [truth[i] for i in order]})
    groundtruth.to_csv(out / "groundtruth.csv", index=False)
    return {"train": train, "test": groundtruth}
