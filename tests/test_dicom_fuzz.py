"""DICOM that fights back: byte-mutated headers of real files (pydicom's test files, seeded) never escape the
DICOM seam. Each mutant decodes or is named in one line; the data check and test.py, run as an organizer runs
them on a folder of mutants, finish without a traceback and write every row."""
import numpy as np
import pandas as pd
import pytest
from pydicom.data import get_testdata_file

from conftest import ROOT, run
from src.data.check import file_kind
from src.readers import dicom
from src.readers.images import header_size, read_image

SOURCES = ["CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "JPGExtended.dcm", "SC_rgb_rle.dcm",
           "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "SC_rgb_jpeg_dcmtk.dcm", "JPEG-lossy.dcm"]
SEED, PER_SOURCE = 2026, 40
LEGACY = ROOT / "tests" / "fixtures" / "legacy_kium"
VIEWS = ["LI-A", "LI-B", "LV-A", "LV-B", "RI-A", "RI-B", "RV-A", "RV-B"]


def mutants(seed=SEED, per_source=PER_SOURCE):
    """(name, bytes) of mutated copies: 1 to 6 bytes of the header (after the 'DICM' magic, before the pixel
    data) set to random values, or the file cut short."""
    rng = np.random.default_rng(seed)
    for source in SOURCES:
        data = open(get_testdata_file(source, download=False), "rb").read()
        pixels = data.find(b"\xe0\x7f\x10\x00")                      # (7FE0,0010) little endian
        end = pixels if pixels > 200 else min(len(data), 2048)
        for i in range(per_source):
            body = bytearray(data)
            if i % 10 == 9:
                body = body[:int(rng.integers(132, len(body)))]        # truncated
            else:
                for pos in rng.integers(132, end, int(rng.integers(1, 7))):
                    body[pos] = int(rng.integers(0, 256))
            yield f"{source[:-4]}_{i}", bytes(body)


def one_line(text):
    return isinstance(text, str) and text and "\n" not in text and len(text) < 400


def test_every_mutant_decodes_or_is_named_in_one_line(tmp_path):
    seen, failed = 0, 0
    for name, body in mutants():
        path = tmp_path / f"{name}.dcm"
        path.write_bytes(body)
        img, why = read_image(path)                     # must not raise, whatever pydicom makes of it
        assert (img is None) != (why is None), name
        assert img is not None or one_line(why), (name, why)
        try:
            head = dicom.header(path)
            assert isinstance(head["size"], tuple)
        except dicom.DicomError as exc:
            assert one_line(str(exc)), name
        header_size(path), file_kind(path), dicom.summary([path])
        seen, failed = seen + 1, failed + (img is None)
    assert seen == len(SOURCES) * PER_SOURCE and 0 < failed < seen        # the mutants break some files, not all


@pytest.fixture(scope="module")
def mutant_folder(tmp_path_factory):
    """A K-ium test folder of 3 patients whose 24 views are mutants (every 7th of the seeded sequence)."""
    folder = tmp_path_factory.mktemp("fuzz") / "test_set"
    folder.mkdir()
    chosen = [body for k, (_, body) in enumerate(mutants()) if k % 7 == 0][:24]
    ids = ["11", "12", "13"]
    for k, body in enumerate(chosen):
        (folder / f"{ids[k // 8]}{VIEWS[k % 8]}.dcm").write_bytes(body)
    cols = pd.read_csv(LEGACY / "expected_output.csv", nrows=0).columns[1:]
    pd.DataFrame({"Index": ids, **{c: 0 for c in cols}}).to_csv(folder / "test.csv", index=False)
    return folder


def test_the_data_check_and_test_py_go_through_a_folder_of_mutants(mutant_folder, tmp_path):
    check = run("src.check_data", "--data_dir", mutant_folder, check=False)
    assert check.returncode == 0 and "Traceback" not in check.stderr, check.stderr[-2000:]
    assert "undecodable images (used as blank views)" in check.stdout
    out = tmp_path / "output.csv"
    proc = run("test.py", "--data_dir", mutant_folder, "--weights_dir", LEGACY, "--out", out, "--device", "cpu",
               "--num_workers", 0)
    assert "Traceback" not in proc.stderr and "self-check" in proc.stdout
    assert pd.read_csv(out, dtype={"Index": str})["Index"].tolist() == ["11", "12", "13"]
