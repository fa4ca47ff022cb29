#!/usr/bin/env python
"""Score output.csv against groundtruth.csv the organizers' way. `python evaluate.py --help` for options."""
from src.evaluate_cmd import main
from src.utilities.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
