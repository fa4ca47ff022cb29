"""readers/: files as the hospitals and organizers hand them over, turned into arrays and tables. Image formats told
by content (formats.py), decoding to uint8 (images.py), DICOM (dicom.py), deep data's robust window
(intensity.py), masks made binary by one rule (masks.py), every CSV a user hands in (tables.py).

May import: utilities.
"""
