"""evaluation/: predictions scored against the truth the organizers' way, by the task's kind (evaluate.py, behind
evaluate.py), the task found from the trained weights or the prediction's header when it is not named (task.py).

May import: utilities, readers, tasks.
"""
