#!/usr/bin/env python
"""Score output.csv against groundtruth.csv the organizers' way. `python evaluate.py --help` for options."""
from src.errors import run_cli
from src.evaluate_cmd import main

if __name__ == "__main__":
    run_cli(main)
