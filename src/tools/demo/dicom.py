"""The synthetic stand-in as DICOM: `python -m src.tools.demo --format dicom [--dicom_variant V]`.

Every image of a generated set is replaced by a DICOM file of the same stem (.dcm). The single-frame variants
read back to the pixels of the image they replace (12-bit ones within the rounding of the 8-bit round trip),
so a set trains and predicts as its JPEG/PNG twin: plain (8-bit MONOCHROME2, or RGB for a colour view), mono1
(12-bit MONOCHROME1 with a window), 12bit (12-bit MONOCHROME2 rescaled to HU-like values, with a window), jpeg
(the JPEG file's own bytes encapsulated, JPEG baseline); mixed: one of these per image. multiframe: a run of
frames made from a gray view in which the contrast fills and washes out, as in an angiography run.
Uncompressed 12-bit files take 2 bytes a pixel: mind the size range of a large set.
"""
from pathlib import Path

import cv2
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, generate_uid

from ...data.files import index_images
from ...readers.formats import EXTENSIONS, image_extensions

# DICOM variants: each single-frame one reads back to the pixels of the image it replaces (12-bit: within the
# rounding of the 8-bit round trip); multiframe: a contrast run made from a gray view; mixed: one of SINGLE each
SINGLE = ("plain", "mono1", "12bit", "jpeg")
VARIANTS = SINGLE + ("multiframe", "mixed")
MODALITY = {"kium": "XA", "cxr": "DX", "fundus": "OP"}
SC, SC_MULTI = "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.2"     # (multi-frame) secondary capture


def fill_run(rng, img):
    """A run of frames (T, H, W) uint8 made from a gray view: its dark structures (vessels, aneurysms) on their
    smooth background, scaled by a bolus curve that fills and washes out (peak at a random frame), plus fresh
    noise in every frame."""
    k = max(3, min(img.shape) // 12) | 1
    close = cv2.morphologyEx(img, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    bg = cv2.GaussianBlur(close, (0, 0), k / 4).astype(np.float32)
    contrast = img.astype(np.float32) - bg
    n = int(rng.integers(6, 11))
    fills = np.exp(-(((np.arange(n) - rng.uniform(0.25, 0.75) * (n - 1)) / (n / 4)) ** 2))
    frames = [bg + f * contrast + rng.normal(0, 4, img.shape) for f in fills]
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def write_dicom(path, img, variant, modality, jpeg=None):
    """A view as a DICOM file: ``img`` gray (H, W) or RGB (H, W, 3) uint8, or frames (T, H, W) for
    ``multiframe``; ``jpeg``: the view's JPEG bytes, encapsulated as they are by the ``jpeg`` variant."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.Modality, ds.PatientID = modality, path.stem
    ds.SOPClassUID, ds.SOPInstanceUID = SC_MULTI if variant == "multiframe" else SC, generate_uid()
    wide = img.astype(np.uint16) * 16 + 8                       # 12 bits: value v stored as 16 v + 8
    if img.ndim == 3 and variant != "multiframe":
        ds.set_pixel_data(img, "RGB", 8, generate_instance_uid=False)
    elif variant == "mono1":                                    # bright is low; the window spans the 12 bits
        ds.set_pixel_data(4096 - wide, "MONOCHROME1", 12, generate_instance_uid=False)
        ds.WindowCenter, ds.WindowWidth = 2048, 4096
    elif variant == "12bit":                                    # HU-like: rescaled by -1024, windowed back
        ds.set_pixel_data(wide, "MONOCHROME2", 12, generate_instance_uid=False)
        ds.RescaleSlope, ds.RescaleIntercept, ds.WindowCenter, ds.WindowWidth = 1, -1024, 1024, 4096
    else:
        ds.set_pixel_data(img, "MONOCHROME2", 8, generate_instance_uid=False)
    if variant == "jpeg":
        ds.PixelData, ds.LossyImageCompression = encapsulate([jpeg]), "01"
        ds["PixelData"].VR, ds.file_meta.TransferSyntaxUID = "OB", JPEGBaseline8Bit
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)


def to_dicom(task, cfg, out, variant="mixed", seed=0):
    """Every image of ``out``'s train_set/ and test_set/ replaced by a DICOM file of the same stem (.dcm) in
    ``variant`` (VARIANTS; colour views are written plain RGB, PNGs are not JPEG-encapsulated). Returns the
    number of files written."""
    rng, d, n = np.random.default_rng([seed, 1]), cfg["data"], 0
    for split in ("train_set", "test_set"):
        folder = Path(out) / split / (d["image_dir"] or "")
        index, _ = index_images(folder, [e for e in image_extensions(cfg) if e not in EXTENSIONS["dicom"]])
        for path in sorted(index.values()):
            raw = path.read_bytes()
            img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if img.ndim == 3 else img
            kind = str(rng.choice(SINGLE)) if variant == "mixed" else variant
            kind = "plain" if img.ndim == 3 or kind == "jpeg" and not raw.startswith(b"\xff\xd8") else kind
            write_dicom(path.with_suffix(".dcm"), fill_run(rng, img) if kind == "multiframe" else img, kind,
                        MODALITY[task], raw)
            path.unlink()
            n += 1
    return n
