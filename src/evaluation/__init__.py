"""evaluation/: predictions scored against the truth the organizers' way, by the task's kind (evaluate.py, behind
evaluate.py).

May import: utilities, tasks.
"""
