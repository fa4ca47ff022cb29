"""The multi-view network: one timm backbone shared by all views, view embeddings, fusion, two heads."""
import logging
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..preprocessing import mask_modes
from ..utilities import config as C
from ..utilities.errors import UserError
from .backbone import create_backbone
from .unet import UNet

log = logging.getLogger("harness")


class GeM(nn.Module):
    """Generalised mean pooling with a learned exponent: between mean (p=1) and max (p -> inf)."""

    def __init__(self, p=3.0, eps=1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x):
        p = self.p.clamp(1.0, 16.0)
        return x.float().clamp(min=self.eps).pow(p).mean(dim=(-2, -1)).pow(1.0 / p)


class AttentionPool(nn.Module):
    """Learned spatial attention: a 1x1 conv scores every position, the softmax of the scores weights them."""

    def __init__(self, dim):
        super().__init__()
        self.score = nn.Conv2d(dim, 1, 1)

    def forward(self, x):
        w = torch.softmax(self.score(x).float().flatten(1), dim=1).view(x.shape[0], 1, *x.shape[-2:])
        return (x.float() * w).sum(dim=(-2, -1))


def spatial_pool(kind, dim):
    if kind == "gem":
        return GeM()
    if kind == "attn":
        return AttentionPool(dim)
    if kind == "max":
        return lambda x: x.float().amax(dim=(-2, -1))
    if kind == "mean":
        return lambda x: x.float().mean(dim=(-2, -1))
    raise UserError(f"unknown model.pool '{kind}' (mean | max | gem | attn)")


class SpatialLocationHead(nn.Module):
    """Per-location spatial attention over each view's feature map, with a learned position encoding.

    Each location learns where to look in a view (its own attention map over the positions of the map,
    which carry a position encoding so that the place of a finding is visible), and scores the attended
    feature with its own weights: a logit per (view, location), (B*V, D, h, w) -> (B*V, L).
    """

    def __init__(self, dim, n_locations, grid=16):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(1, dim, grid, grid) * 0.02)
        self.where = nn.Conv2d(dim, n_locations, 1)
        self.weight = nn.Parameter(torch.randn(n_locations, dim) * dim ** -0.5)
        self.bias = nn.Parameter(torch.full((n_locations,), -6.0))   # locations are rare: start near the prior

    def forward(self, f):
        f = f.float()
        f = f + F.interpolate(self.pos, size=f.shape[-2:], mode="bilinear", align_corners=False)
        attn = torch.softmax(self.where(f).flatten(2), dim=-1)                 # (N, L, h*w)
        attended = torch.einsum("nlp,ndp->nld", attn, f.flatten(2))            # (N, L, D)
        return (attended * self.weight).sum(-1) + self.bias


class MultiViewNet(nn.Module):
    """x (B, V, 1, H, W) -> logits (B, T) in the task's target order.

    The backbone runs once on all B*V views. Each view's pooled feature gets a learned view embedding.
    The primary target comes from the views fused by attention (or mean); each location comes from
    per-view logits of the views that can show it (visibility map), combined by logsumexp (a soft max).
    With consistency 'softor' the primary logit is logsumexp(own logit, location logits), so a confident
    location always raises the primary probability with it.
    """

    def __init__(self, backbone, n_views, visibility, primary_index, pool="gem", fusion="attention",
                 consistency="softor", dropout=0.2, head="primary_locations", n_outputs=None, mask_mode="none",
                 location_head="view", in_chans=1, pretrained=False, pretrained_path=None, images_per_view=1):
        super().__init__()
        self.per_view = int(images_per_view)     # a view of several images: each encoded, pooled in the view
        self.mask_mode = mask_modes.check(mask_mode)
        self.backbone = create_backbone(backbone, pretrained, pretrained_path, num_classes=0, global_pool="",
                                        in_chans=in_chans + (mask_mode == "channel"))
        dim = self.backbone.num_features
        vis = torch.tensor(visibility, dtype=torch.float32)
        vis[:, vis.sum(0) == 0] = 1.0          # a location no view claims is read from all views
        self.register_buffer("visibility", vis, persistent=False)
        self.primary_index = primary_index
        # GeM and attention pooling register themselves as submodules; the mask pools in mask_mode pool / swap
        self.pool = None if mask_modes.pools_under_mask(mask_mode) else spatial_pool(pool, dim)
        self.view_embed = nn.Parameter(torch.randn(n_views, dim) * 0.02)
        self.norm = nn.LayerNorm(dim)
        if fusion not in ("attention", "mean"):
            raise UserError(f"unknown model.fusion '{fusion}' (attention | mean)")
        self.fusion = fusion
        # only the modules the chosen heads use: DistributedDataParallel refuses parameters without gradients
        if fusion == "attention":
            self.attn = nn.Sequential(nn.Linear(dim, max(dim // 4, 8)), nn.Tanh(), nn.Linear(max(dim // 4, 8), 1))
        self.drop = nn.Dropout(dropout)
        self.head = head
        if location_head not in ("view", "spatial"):
            raise UserError(f"unknown model.location_head '{location_head}' (view | spatial)")
        self.spatial = None
        if head == "flat":                      # one output per target from the fused views (multiclass)
            self.flat_head = nn.Linear(dim, n_outputs)
        else:
            self.primary_head = nn.Linear(dim, 1)
            if location_head == "spatial":
                self.spatial = SpatialLocationHead(dim, vis.shape[1])
            else:
                self.location_head = nn.Linear(dim, vis.shape[1])
                nn.init.constant_(self.location_head.bias, -6.0)   # locations are rare: start near their prior
        if consistency not in ("softor", "none"):
            raise UserError(f"unknown model.consistency '{consistency}' (softor | none)")
        self.consistency = consistency

    def encode(self, flat):
        """(pooled features (N, D), per-location logits (N, L) or None) of N images (N, C, H, W)."""
        if flat.is_cuda:
            flat = flat.contiguous(memory_format=torch.channels_last)
        mask = None
        if mask_modes.pools_under_mask(self.mask_mode):   # the last channel is the mask: it weights the pooling
            flat, mask = flat[:, :-1], flat[:, -1:]
        f = self.backbone.forward_features(flat)
        if f.ndim == 3:                       # transformer tokens (B*V, N, D) -> pool over tokens
            f = f.transpose(1, 2).unsqueeze(-1)
        if mask is not None:
            w = F.adaptive_avg_pool2d(mask.float(), f.shape[-2:])
            w = torch.where(w.sum((-2, -1), keepdim=True) > 0, w, torch.ones_like(w))
            pooled = (f.float() * w).sum((-2, -1)) / w.sum((-2, -1))
        else:
            pooled = self.pool(f)
        per_view = self.spatial(self.drop(f) if f.ndim == 4 else f) if self.spatial is not None else None
        return pooled, per_view

    def view_tokens(self, x):
        """(tokens (B, V, D), per-view location logits (B, V, L) or None) of x (B, V x images_per_view, C, H, W).

        With several images per view an absent one is NaN (loading/dataset.py): only the present images are
        encoded, and a view's token is the mean of its images' (its location logits their maximum); the first
        image of a view always counts (a blank one when the view has none)."""
        b, n = x.shape[:2]
        flat = x.flatten(0, 1)
        k = self.per_view
        if k == 1:
            pooled, per_view = self.encode(flat)
            tokens = pooled.view(b, n, -1) + self.view_embed
            return self.norm(tokens), None if per_view is None else per_view.view(b, n, -1)
        present = ~torch.isnan(flat.flatten(1)[:, 0]) | (torch.arange(b * n, device=x.device) % k == 0)
        got, got_view = self.encode(flat[present])
        pooled = got.new_zeros(b * n, got.shape[1]).index_put((present.nonzero()[:, 0],), got)
        weight = present.float().view(b, n // k, k, 1)
        tokens = (pooled.view(b, n // k, k, -1) * weight).sum(2) / weight.sum(2)
        per_view = None
        if got_view is not None:
            per_view = got_view.new_full((b * n, got_view.shape[1]), float("-inf"))
            per_view = per_view.index_put((present.nonzero()[:, 0],), got_view).view(b, n // k, k, -1).amax(2)
        return self.norm(tokens + self.view_embed), per_view

    def forward(self, x):
        t, per_view = self.view_tokens(x)
        if self.fusion == "attention":
            w = torch.softmax(self.attn(t).squeeze(-1).float(), dim=1)
            fused = (w.unsqueeze(-1) * t).sum(1)
        else:
            fused = t.mean(1)
        if self.head == "flat":
            return self.flat_head(self.drop(fused)).float()
        prim = self.primary_head(self.drop(fused)).float()                     # (B, 1)
        if per_view is None:
            per_view = self.location_head(self.drop(t)).float()                # (B, V, L)
        per_view = per_view.masked_fill(self.visibility.unsqueeze(0) == 0, float("-inf"))
        loc = torch.logsumexp(per_view, dim=1)                                  # (B, L)
        if self.consistency == "softor":
            prim = torch.logsumexp(torch.cat([prim, loc], dim=1), dim=1, keepdim=True)
        i = self.primary_index
        return torch.cat([loc[:, :i], prim, loc[:, i:]], dim=1)


def multiview_args(cfg, head, primary_index):
    """Everything needed to rebuild a MultiViewNet for a task (the kinds add their head); stored in every
    checkpoint."""
    m = cfg["model"]
    return dict(backbone=m["backbone"], n_views=len(C.views(cfg)), visibility=C.visibility_matrix(cfg),
                primary_index=primary_index, pool=m["pool"], fusion=m["fusion"], consistency=m["consistency"],
                dropout=float(m["dropout"]), head=head, n_outputs=len(C.target_columns(cfg)),
                mask_mode=m["mask_mode"], location_head=m["location_head"], in_chans=int(cfg["data"]["channels"]),
                **({"images_per_view": k} if (k := int(cfg["data"]["images_per_view"])) > 1 else {}))


def to_device(model, device):
    """The network on ``device``; on a GPU with its weights in channels_last, the layout its inputs get
    (view_tokens), so that cuDNN runs its fast NHWC kernels instead of converting at every layer."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if device.type == "cuda" else model


def build_model(args, pretrained=False, pretrained_path=None):
    """The network of ``args`` (multiview_args or a kind's model_args). pretrained_path: a timm-ready weights
    file for the backbone (training passes the one pretrained.resolve found; test.py passes none and loads the
    checkpoint); an unreadable or unfitting file is a one-line UserError."""
    if pretrained_path is not None and not Path(pretrained_path).is_file():
        raise UserError(f"--pretrained_path file not found: {pretrained_path}")
    args = dict(args)
    if args.pop("arch", "multiview") == "unet":
        return UNet(**args, pretrained=pretrained, pretrained_path=pretrained_path)
    return MultiViewNet(**args, pretrained=pretrained, pretrained_path=pretrained_path)

