"""timm backbones: built offline, with ImageNet weights from a local file when given, and what timm states about a
backbone's own pretrained weights (its pretrained config: hub id, file, normalisation, classifier)."""
import timm

from ..utilities.errors import UserError
from .weight_files import first_mismatch, read_weights


def pretrained_cfg(name):
    """timm's pretrained config of a backbone name ('tf_efficientnet_lite0', with or without a '.tag'), or None
    when timm knows no such model or states nothing for it."""
    try:
        return timm.models.get_pretrained_cfg(name)
    except Exception:  # noqa: BLE001   an unknown name: whoever builds the network says so
        return None


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
