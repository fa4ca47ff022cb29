#!/usr/bin/env python
"""Train the task's model per cross-validation fold. `python train.py --help` lists every option."""
from src.train_cmd import main
from src.utilities.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
