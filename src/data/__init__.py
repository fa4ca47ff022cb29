"""data/: a data folder becomes checked samples. Finding the table, ids and every view's file (discover.py), the
data check train.py, test.py and python -m src.check_data run (check.py; the mask values: mask_survey.py), and
the persisted cross-validation folds (folds.py). Labels are read as the task's kind says.

May import: utilities, readers, tasks.
"""
