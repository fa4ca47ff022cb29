"""timm backbones: built offline, with ImageNet weights from a local file when given."""
import re

import timm
import torch

from .errors import UserError


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


def create_backbone(name, pretrained=False, pretrained_path=None, **kwargs):
    """A timm network; ImageNet weights from a local file (offline), timm's hub (``pretrained``) or none.

    A file that is unreadable or made for another network is a one-line UserError naming the first mismatch."""
    if pretrained_path:
        read_weights(pretrained_path)          # a truncated file: one line, not timm's traceback
        kwargs.update(pretrained=True, pretrained_cfg_overlay=dict(file=str(pretrained_path)))
    else:
        kwargs.update(pretrained=bool(pretrained))
    try:
        return timm.create_model(name, **kwargs)
    except RuntimeError as exc:
        if "Unknown model" in str(exc):
            raise UserError(f"timm has no model '{name}'") from None
        if pretrained_path:
            raise UserError(f"{pretrained_path} does not fit {name}: first mismatch: {first_mismatch(exc)}") from None
        raise
    except KeyError as exc:                    # the stem timm adapts to the input channels is not in the file
        if pretrained_path:
            raise UserError(f"{pretrained_path} does not fit {name}: first mismatch: no tensor {exc}") from None
        raise
