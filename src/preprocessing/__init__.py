"""preprocessing/: a decoded image becomes the prepared view the network sees, the same in training and test. The
content box, crop, pad and resize and their inverse (geometry.py), the task's preprocessing as one value and the
prepared view and masks (views.py), the on-disk cache of prepared views (cache.py), and how a lung mask enters a
classifier (mask_modes.py).

May import: utilities, readers.
"""
