"""training/: cross-validation, fold by fold. The run behind train.py (cross_validation.py: folds, cache, processes),
one fold's loop with its checkpoints (fold.py), the optimisation step and schedule (optim.py), early stopping
(stopping.py), Ctrl-C that never loses an epoch (interrupts.py), the CV summary (summary.py) and the training
curve (curves.py).

May import: utilities, readers, preprocessing, loading, networks, metrics, tasks, data.
"""
