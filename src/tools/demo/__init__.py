"""tools/demo/: synthetic stand-in data in each task's real layout (`python -m src.tools.demo`): make.py (the
command), kium.py, cxr.py, fundus.py (one generator per task) and dicom.py (the same images as DICOM files).

May import: anything of src/ (tools are never imported by the shipped core).
"""
