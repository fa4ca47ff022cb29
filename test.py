#!/usr/bin/env python
"""Predict a test folder with every trained fold and write output.csv. `python test.py --help` for options."""
from src.predict_cmd import main
from src.utilities.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
