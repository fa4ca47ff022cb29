"""Task configuration: loading, overrides, and the facts derived from it."""
import pytest

from src.tasks import kind_of
from src.utilities import config as C
from src.utilities.errors import UserError


def test_kium_config_loads_with_the_organizers_columns():
    cfg = C.load_config()
    cols = C.target_columns(cfg)
    assert cols[0] == "Aneurysm" and len(cols) == 22 and C.primary(cfg) == "Aneurysm"
    assert len(C.location_columns(cfg)) == 21 and len(C.views(cfg)) == 8
    vis = C.visibility_matrix(cfg)
    assert len(vis) == 8 and all(len(r) == 21 for r in vis)
    assert all(any(r[j] for r in vis) for j in range(21)), "every location is visible in some view"


def test_mirror_permutations_swap_left_and_right():
    cfg = C.load_config()
    vperm, tperm = C.mirror_permutations(cfg)
    views, cols = C.views(cfg), C.target_columns(cfg)
    assert views[vperm[views.index("LI-A")]] == "RI-A"
    assert cols[tperm[cols.index("L_MCA")]] == "R_MCA"
    assert cols[tperm[cols.index("BA")]] == "BA" and cols[tperm[0]] == "Aneurysm"
    assert sorted(vperm) == list(range(8)) and sorted(tperm) == list(range(22))


def test_overrides_and_errors(tmp_path):
    cfg = C.load_config()
    out = C.resolved(cfg, {"model.backbone": "resnet50", "train.epochs": None})
    assert out["model"]["backbone"] == "resnet50" and out["train"]["epochs"] == cfg["train"]["epochs"]
    assert cfg["model"]["backbone"] != "resnet50", "resolved() must not change the original"
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        C.load_config(bad)
    with pytest.raises(UserError, match="not found"):
        C.load_config(tmp_path / "none.yaml")
    evil = tmp_path / "evil.yaml"
    evil.write_text("!!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(UserError):
        C.load_config(evil)
    broken = C.resolved(cfg, {"targets.primary": "Nope"})
    with pytest.raises(UserError, match="primary"):
        kind_of(broken)                      # the kind checks what its task needs
