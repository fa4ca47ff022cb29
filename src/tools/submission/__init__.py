"""tools/submission/: what the organizers receive. files.py (the shipped files and their pins), preflight.py (run
the submission their way, offline, from another folder), pack.py (the zip), report.py (SUBMISSION.md's generated
section).

May import: anything of src/ (tools are never imported by the shipped core).
"""
