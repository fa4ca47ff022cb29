"""utilities/: the ground floor every stage stands on. The task config (config.py: YAML, defaults, overrides, the
derived facts), the one-line user error (errors.py), every file written (files.py: atomic, ordinary modes), where
a run's files go (layout.py), self-describing checkpoints (checkpoint.py), logging, device and seeds
(runtime.py), torchrun processes (distributed.py), off-screen pictures (pictures.py).

May import: nothing of src/ outside this package.
"""
