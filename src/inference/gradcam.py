"""Grad-CAM (Selvaraju et al. 2017): where a network looked. The backbone's last feature map of every view,
weighted by the gradient of the explained output, summed over channels and kept where positive; and the grid of
views with their heat maps (python -m src.explain draws it)."""
import contextlib

import torch

from ..utilities.errors import UserError
from ..utilities.pictures import plt, save


@contextlib.contextmanager
def captured_features(model):
    """Keep the backbone's feature map (with its gradient) while the model runs (``model`` a network or a fold's
    forward.Normalized)."""
    store = {}
    backbone = getattr(model, "net", model).backbone
    original = backbone.forward_features

    def forward_features(x):
        f = original(x)
        f.retain_grad()
        store["f"] = f
        return f

    backbone.forward_features = forward_features
    try:
        yield store
    finally:
        del backbone.forward_features                   # back to the class's method


def grad_cam(model, x, target, device):
    """Grad-CAM maps (V, h, w) >= 0 of one sample x (V, C, H, W) for output column ``target``."""
    model.eval()
    model.zero_grad(set_to_none=True)
    with torch.enable_grad(), captured_features(model) as store:
        model(x[None].to(device)).float()[0, target].backward()
    f, g = store["f"], store["f"].grad
    if f.ndim != 4:
        raise UserError("Grad-CAM needs a convolutional backbone (a spatial feature map per view)")
    return torch.relu((g.mean((2, 3), keepdim=True) * f).sum(1)).detach().float().cpu()


def gradcam_grid(images, cams, titles, suptitle, path):
    """Views (gray or RGB, [0, 1]) with their heat maps ([0, 1]) in a grid of up to four columns."""
    n = len(images)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.6 * rows + 1.1), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, cam, title in zip(axes.flat, images, cams, titles):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        heat = plt.colormaps["jet"](cam)
        heat[..., 3] = 0.6 * cam                      # transparent where there is no evidence
        ax.imshow(heat)
        ax.set_title(title, fontsize=9)
    fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return save(fig, path)
