"""networks/: the networks and where their starting weights come from. timm backbones (backbone.py), the multi-view
classifier (model.py), the U-Net (unet.py), the forward pass with fold averaging and mirror TTA (forward.py),
ImageNet weights found offline (pretrained.py), weights files read and mapped (weight_files.py), and the record of
which weights a run started from, in words (provenance.py).

May import: utilities, preprocessing.
"""
