"""`python -m src.tools.demo --task kium|cxr|fundus --out DIR`: synthetic data in a task's real layout (make.py)."""
from ...utilities.errors import run_cli
from .make import main

run_cli(main)
