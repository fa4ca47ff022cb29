#!/usr/bin/env python
"""Predict a test folder with every trained fold and write output.csv. `python test.py --help` for options."""
from src.errors import run_cli
from src.test_cmd import main

if __name__ == "__main__":
    run_cli(main)
