"""loading/: samples become batches. The Dataset (views, masks and labels of a sample as tensors, with
training-only augmentation: dataset.py) and the DataLoader with its epoch sampler and shared-memory sizing
(loader.py).

May import: utilities, readers, preprocessing.
"""
