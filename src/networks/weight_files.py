"""Weights files: reading one as timm reads it (safetensors or a torch file, no code unpickled), naming the first
tensor that does not fit a network, and mapping a file in another naming (a weights package's EfficientNet-PyTorch
keys) onto timm's network by order and shape, converted once to a timm-ready safetensors copy."""
import logging
import re
from pathlib import Path

import torch

from ..utilities.errors import UserError
from ..utilities.files import atomic_write_bytes

log = logging.getLogger("harness")


def read_weights(path):
    """The state dict {name: tensor} of a weights file (.safetensors, or a torch .pth/.pt/.bin, also wrapped as
    {'state_dict': ...} or {'model': ...}), read as timm reads it (no code unpickled). A file that cannot be
    read, such as an interrupted download leaves it, is a one-line UserError."""
    from timm.models import load_state_dict

    try:
        state = load_state_dict(str(path))
        if not state or not all(torch.is_tensor(v) for v in state.values()):
            raise ValueError("no tensors")
    except Exception:  # noqa: BLE001   whatever the reader trips on, the file is what is wrong
        raise UserError(f"{path} is not a readable weights file (truncated or corrupt?)") from None
    return state


def first_mismatch(exc):
    """The first line of a state-dict load error that names a tensor, shortened to one line."""
    lines = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()] or [str(exc).strip()]
    line = re.sub(r"torch\.Size\((\[[^\]]*\])\)", r"\1", lines[0])
    keys = re.findall(r'"([^"]+)"', line)
    if line.startswith(("Missing key", "Unexpected key")) and keys:     # one key, not the whole list
        what = "the file lacks" if line.startswith("Missing") else "the network has no place for"
        return f"{what} {keys[0]}" + (f" (and {len(keys) - 1} more)" if len(keys) > 1 else "")
    return line if len(line) <= 200 else line[:200] + "..."


def map_by_order(source, target):
    """{target key: source tensor}: the i-th tensor of ``source`` fills the i-th tensor of ``target`` (both state
    dicts, BatchNorm ``num_batches_tracked`` counters left out on both sides: they are step counters, not
    weights; timm's network keeps its own). Strict: every source tensor used, every target tensor filled, every
    shape equal, else one UserError naming the first mismatch (source key, target key, both shapes)."""
    src = [(k, v) for k, v in source.items() if not k.endswith("num_batches_tracked")]
    tgt = [(k, v) for k, v in target.items() if not k.endswith("num_batches_tracked")]
    by_name = dict(src)
    if set(by_name) == {k for k, _ in tgt}:     # already in timm's naming (e.g. a saved safetensors): by name
        src = [(k, by_name[k]) for k, _ in tgt]
    out = {}
    for (sk, sv), (tk, tv) in zip(src, tgt):
        if tuple(sv.shape) != tuple(tv.shape):
            raise UserError(f"first mismatch: file tensor {sk} {tuple(sv.shape)} vs {tk} {tuple(tv.shape)} "
                            f"(tensor {len(out) + 1} of {len(src)} vs {len(tgt)})")
        out[tk] = sv
    if len(src) != len(tgt):
        extra = f"file tensor {src[len(tgt)][0]} has no place" if len(src) > len(tgt) else \
            f"{tgt[len(src)][0]} gets no file tensor"
        raise UserError(f"first mismatch: {extra} (the file holds {len(src)} tensors, the network {len(tgt)})")
    return out


def convert(path, arch, sha, cache_dir):
    """The timm-ready safetensors copy of a weights file for ``arch`` (made once, atomically, then reused)."""
    import safetensors.torch
    import timm

    out = Path(cache_dir) / "imagenet" / f"{arch}-{sha[:12]}.safetensors"
    if out.is_file():
        return out
    source = read_weights(path)
    with torch.device("meta"):
        target = timm.create_model(arch, pretrained=False).state_dict()
    try:
        mapped = map_by_order(source, target)
    except UserError as exc:
        raise UserError(f"{path} does not fit {arch}: {exc}") from None
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in mapped.items()}
    atomic_write_bytes(out, safetensors.torch.save(tensors, metadata={"source": str(path), "sha256": sha}))
    log.info("ImageNet weights: %s converted for timm's %s -> %s", path, arch, out)
    return out
