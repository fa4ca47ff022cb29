"""The intensity rules, each against values computed here without the harness's helpers: deep colour windowed
over all its channels whatever the image size, 16-bit palette colour by its LUT's depth, an 8-bit DICOM with a
no-op rescale exactly as its 8-bit twin, a deep picture without a window as its 8-bit export shows it."""
import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset

from src.readers.images import decode
from src.readers.intensity import SAMPLE_PIXELS


def save(path, ds):
    ds.SOPClassUID, ds.Modality = "1.2.840.10008.5.1.4.1.1.7", "OT"
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)
    return path


def smooth_rgb16(side, seed=0):
    """A 16-bit colour picture whose channels use 12 bits in different ranges: R bright, G mid, B dark."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((8, 8)).astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
    base = np.clip(base, 0, 1)
    return np.dstack([3000 + 1000 * base, 1200 + 800 * base, 100 + 300 * base]).astype(np.uint16)


def test_deep_colour_is_windowed_over_every_channel_at_any_size(tmp_path):
    means = []
    for side in (512, 1500):                     # 0.26 M and 2.25 M pixels: the larger one is subsampled
        rgb = smooth_rgb16(side)
        cv2.imwrite(str(tmp_path / f"c{side}.png"), rgb[..., ::-1])               # BGR on disk
        img = decode(tmp_path / f"c{side}.png", channels=3)
        bits = int(np.ceil(np.log2(np.percentile(rgb, 99.5) + 1)))                 # 12: all channels together
        want = np.rint(rgb.astype(float) * 255 / (2 ** bits - 1))
        assert np.abs(img.astype(int) - want).max() <= 1, side
        means.append(img.reshape(-1, 3).mean(0))
    assert 1500 * 1500 > SAMPLE_PIXELS and np.abs(means[0] - means[1]).max() < 1.0, means
    assert means[0][0] > 150 and means[0][2] < 30         # R stays bright, B dark: not three separate windows


def test_sixteen_bit_palette_colour_is_its_lut_by_depth(tmp_path):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    index = np.tile(np.arange(256, dtype=np.uint8), (16, 1))
    ds.set_pixel_data(index, "PALETTE COLOR", 8)
    lut = {c: (np.arange(256) * k).astype(np.uint16) for c, k in (("Red", 256), ("Green", 128), ("Blue", 40))}
    for c, values in lut.items():
        setattr(ds, f"{c}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{c}PaletteColorLookupTableData", values.tobytes())
    path = save(tmp_path / "palette.dcm", ds)
    img = decode(path, channels=3)
    want = np.stack([np.rint(lut[c][index].astype(float) * 255 / 65535) for c in ("Red", "Green", "Blue")], -1)
    assert np.abs(img.astype(int) - want).max() <= 1
    assert img[..., 1].max() < 130                 # half the range stays half, not stretched to white


def test_an_eight_bit_dicom_with_a_no_op_rescale_is_its_eight_bit_twin(tmp_path):
    gray = np.tile(np.arange(60, 120, dtype=np.uint8), (30, 1))                    # a 60..119 ramp
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.set_pixel_data(gray, "MONOCHROME2", 8)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    path = save(tmp_path / "plain.dcm", ds)
    assert pydicom.dcmread(path).RescaleSlope == 1
    cv2.imwrite(str(tmp_path / "twin.png"), gray)
    assert np.array_equal(decode(path), gray) and np.array_equal(decode(tmp_path / "twin.png"), gray)
