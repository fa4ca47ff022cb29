"""The segmentation network: a timm encoder (features_only) and a U-Net decoder."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .backbone import create_backbone


def conv_block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """timm encoder (features_only) + a U-Net decoder; (B, C, H, W) image -> (B, M, H, W) mask logits, one
    channel per mask; with ``grade_classes`` also (B, G) grade logits from the encoder's deepest features
    (the output is then the pair)."""

    def __init__(self, backbone, decoder_width=32, in_chans=1, n_outputs=1, grade_classes=0, prior=None,
                 pretrained=False, pretrained_path=None, **_):
        super().__init__()
        self.encoder = create_backbone(backbone, pretrained, pretrained_path, features_only=True, in_chans=in_chans)
        chs = self.encoder.feature_info.channels()
        self.grade = None
        if grade_classes:
            self.grade = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                                       nn.Linear(chs[-1], grade_classes))
        self.blocks = nn.ModuleList()
        width = chs[-1]
        for skip in reversed(chs[:-1]):
            out = max(decoder_width, skip)
            self.blocks.append(conv_block(width + skip, out))
            width = out
        self.final = nn.Sequential(conv_block(width, decoder_width), nn.Conv2d(decoder_width, n_outputs, 1))
        if prior:                    # rare, small targets: start every pixel near their frequency, not at 0.5
            nn.init.constant_(self.final[-1].bias, math.log(prior / (1 - prior)))

    def forward(self, x):
        size = x.shape[-2:]
        feats = self.encoder(x)
        y = feats[-1]
        for block, skip in zip(self.blocks, reversed(feats[:-1])):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], 1))
        masks = self.final(F.interpolate(y, size=size, mode="bilinear", align_corners=False)).float()
        return masks if self.grade is None else (masks, self.grade(feats[-1]).float())
