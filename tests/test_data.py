"""Finding views on disk and decoding whatever the files hold."""
import cv2
import numpy as np
import pandas as pd
import pytest

from src.data.discover import discover
from src.preprocessing.geometry import crop_border, pad_square
from src.preprocessing.views import Prep, prepare
from src.readers.images import decode_gray
from src.utilities import config as C
from src.utilities.errors import UserError

CFG = C.load_config()
VIEWS = C.views(CFG)
COLS = C.target_columns(CFG)


def write_set(folder, ids, csv="test.csv", ext=".jpg", skip=(), labels=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for sid in ids:
        for v in VIEWS:
            if (sid, v) in skip:
                continue
            cv2.imwrite(str(folder / f"{sid}{v}{ext}"), rng.integers(0, 255, (40, 40), dtype=np.uint8))
    if csv:
        frame = pd.DataFrame({"Index": ids, **{c: 0 for c in COLS}})
        if labels is not None:
            frame[COLS] = labels
        frame.to_csv(folder / csv, index=False)


def test_discovery_finds_views_any_case_and_nested(tmp_path):
    write_set(tmp_path / "test_set" / "test_set", ["12", "7"], ext=".JPG")
    s = discover(tmp_path / "test_set", CFG, "test")
    assert s.ids == ["12", "7"]                      # CSV order kept
    assert all(p is not None for row in s.paths for p in row)
    assert s.paths[0][VIEWS.index("LV-B")].name == "12LV-B.JPG"


def test_missing_and_empty_views_are_reported(tmp_path, caplog):
    write_set(tmp_path, ["1", "2"], skip={("1", "RI-A")})
    (tmp_path / "2LI-B.jpg").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    s = discover(tmp_path, CFG, "test")
    assert s.missing == {"1": ["RI-A"], "2": ["LI-B"]}
    assert [p.name for p in s.unreadable] == ["2LI-B.jpg"]
    assert s.paths[0][VIEWS.index("RI-A")] is None


def test_ids_come_from_file_names_without_csv(tmp_path):
    write_set(tmp_path, ["10", "9", "100"], csv=None, ext=".png")
    s = discover(tmp_path, CFG, "test")
    assert s.ids == ["9", "10", "100"]
    assert list(s.frame.columns) == ["Index"]


def test_training_data_needs_valid_labels(tmp_path):
    write_set(tmp_path / "a", ["1", "2"], csv=None)
    with pytest.raises(UserError, match="train.csv"):
        discover(tmp_path / "a", CFG, "train")
    good = np.zeros((2, len(COLS)), int)
    good[0, 0] = 1
    write_set(tmp_path / "c", ["1", "2"], csv="train.csv", labels=good)
    s = discover(tmp_path / "c", CFG, "train")
    assert s.labels.shape == (2, 22) and s.labels[0, 0] == 1


def test_decode_by_content_gray_rgb_16bit(tmp_path):
    gray = np.tile(np.arange(0, 250, 5, dtype=np.uint8), (30, 1))
    cv2.imwrite(str(tmp_path / "g.jpg"), gray)
    cv2.imwrite(str(tmp_path / "rgb.png"), cv2.merge([gray, gray, gray]))
    cv2.imwrite(str(tmp_path / "png_named.jpg.tmp.png"), gray)
    (tmp_path / "png_named.jpg").write_bytes((tmp_path / "png_named.jpg.tmp.png").read_bytes())
    cv2.imwrite(str(tmp_path / "deep.png"), gray.astype(np.uint16) * 256)
    for name in ("g.jpg", "rgb.png", "png_named.jpg", "deep.png"):
        img = decode_gray(tmp_path / name)
        assert img.dtype == np.uint8 and img.shape == gray.shape, name
        assert (np.diff(img[0].astype(int)) >= -3).all(), name          # the ramp survives
        assert abs(int(img[0, -1]) - 245) <= 6, name               # 16 bit: as its 8-bit export, not stretched
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "junk.jpg").write_bytes(b"not an image at all")
    assert decode_gray(tmp_path / "empty.jpg") is None and decode_gray(tmp_path / "junk.jpg") is None


def test_border_crop_removes_a_dark_frame_with_text():
    img = np.full((200, 300), 160, np.uint8)
    framed = cv2.copyMakeBorder(img, 20, 20, 30, 30, cv2.BORDER_CONSTANT, value=0)
    cv2.putText(framed, "ID 1234 80kV", (32, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 255, 1)
    for x in range(30, 330, 10):
        cv2.line(framed, (x, 222), (x, 230), 230, 1)
    cropped = crop_border(framed)
    assert abs(cropped.shape[0] - 200) <= 2 and abs(cropped.shape[1] - 300) <= 2
    dark = np.full((100, 100), 5, np.uint8)
    assert crop_border(dark).shape == dark.shape          # a dark image is not a frame
    sq = pad_square(cropped)
    assert sq.shape[0] == sq.shape[1] == max(cropped.shape)
    assert prepare(framed, Prep(64, "border"))[0].shape == (64, 64)
