"""The segmentation network: a timm encoder (features_only) and a U-Net decoder."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .backbone import create_backbone


def conv_block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """timm encoder (features_only) + a U-Net decoder; (B, 1, H, W) image -> (B, 1, H, W) mask logits."""

    def __init__(self, backbone, decoder_width=32, pretrained=False, pretrained_path=None, **_):
        super().__init__()
        self.encoder = create_backbone(backbone, pretrained, pretrained_path, features_only=True, in_chans=1)
        chs = self.encoder.feature_info.channels()
        self.blocks = nn.ModuleList()
        width = chs[-1]
        for skip in reversed(chs[:-1]):
            out = max(decoder_width, skip)
            self.blocks.append(conv_block(width + skip, out))
            width = out
        self.final = nn.Sequential(conv_block(width, decoder_width), nn.Conv2d(decoder_width, 1, 1))

    def forward(self, x):
        size = x.shape[-2:]
        feats = self.encoder(x)
        y = feats[-1]
        for block, skip in zip(self.blocks, reversed(feats[:-1])):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], 1))
        return self.final(F.interpolate(y, size=size, mode="bilinear", align_corners=False)).float()
