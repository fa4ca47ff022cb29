#!/usr/bin/env python
"""Train the task's model per cross-validation fold. `python train.py --help` lists every option."""
from src.errors import run_cli
from src.train_cmd import main

if __name__ == "__main__":
    run_cli(main)
