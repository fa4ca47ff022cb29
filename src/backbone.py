"""timm backbones: built offline, with ImageNet weights from a local file when given."""
import timm

from .errors import UserError


def create_backbone(name, pretrained=False, pretrained_path=None, **kwargs):
    """A timm network; ImageNet weights from a local file (offline) or timm's hub (``pretrained``) or none."""
    if pretrained_path:
        kwargs.update(pretrained=True, pretrained_cfg_overlay=dict(file=str(pretrained_path)))
    else:
        kwargs.update(pretrained=bool(pretrained))
    try:
        return timm.create_model(name, **kwargs)
    except RuntimeError as exc:
        if "Unknown model" in str(exc):
            raise UserError(f"timm has no model '{name}'") from None
        raise
