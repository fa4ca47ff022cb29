"""tools/experiments/: measuring recipes. sweep.py (a grid of runs), blend.py (an ensemble of runs chosen on OOF),
honesty.py and stability.py (CV against a fresh held-out set), measure_masking.py (does the lung mask help),
bench.py (speed and memory).

May import: anything of src/ (tools are never imported by the shipped core).
"""
