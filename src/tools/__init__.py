"""tools/: what only developers run, never shipped to the organizers (tools/submission/pack.py leaves this folder
out of the zip): demo/ (synthetic data), experiments/ (sweeps, blends, honesty, benchmarks), submission/
(pre-flight, packing, the report).

May import: anything of src/ (the shipped core never imports a tool).
"""
