"""The preprocessed-view cache and reduced-size JPEG decoding."""
import os

import cv2
import numpy as np

from src.preprocessing.cache import ViewCache
from src.preprocessing.views import Prep, load_view
from src.readers.images import decode_gray, jpeg_reduction


def picture(path, size):
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 255, (size, size), dtype=np.uint8), (0, 0), 4)
    cv2.imwrite(str(path), img)
    return img


def test_cached_view_equals_the_decoded_view_and_follows_file_changes(tmp_path):
    src = tmp_path / "1LI-A.jpg"
    picture(src, 300)
    cache = ViewCache(tmp_path / "cache", Prep(64, "border"))
    assert cache.get(src) is None
    cache.build([src, None], workers=2)
    cached = cache.get(src)
    assert np.array_equal(cached, load_view(src, Prep(64, "border"))[0])
    assert ViewCache(tmp_path / "cache", Prep(96, "border")).get(src) is None  # other settings, other entry
    assert ViewCache(tmp_path / "cache", Prep(64, "border", clahe_clip=2.0)).get(src) is None
    picture(src, 200)
    os.utime(src, ns=(1, 1))
    assert cache.get(src) is None                                                # the file changed
    cache.entry(src).parent.mkdir(parents=True, exist_ok=True)
    cache.entry(src).write_bytes(b"broken")
    assert cache.get(src) is None                                                # unreadable entry: decode
    (tmp_path / "bad.jpg").write_bytes(b"junk")
    assert cache.put(tmp_path / "bad.jpg") is False


def test_reduced_jpeg_decoding_only_when_big_enough(tmp_path):
    src = tmp_path / "big.jpg"
    full = picture(src, 1000)
    buf = np.fromfile(str(src), np.uint8)
    assert jpeg_reduction(buf, 480) == 2 and jpeg_reduction(buf, 120) == 8 and jpeg_reduction(buf, 600) == 1
    small = decode_gray(src, min_side=480)
    assert small.shape == (500, 500)
    ref = cv2.resize(full, (500, 500), interpolation=cv2.INTER_AREA).astype(float)
    assert np.abs(small.astype(float) - ref).mean() < 3
    png = tmp_path / "big.png"
    cv2.imwrite(str(png), full)
    assert decode_gray(png, min_side=100).shape == (1000, 1000)               # PNGs are decoded in full
