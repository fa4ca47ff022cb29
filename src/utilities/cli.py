"""What every command line of the harness shares: its option parser, whose --help ends with example command lines
shown as written (train.py, test.py, evaluate.py, python -m src.check_data, the developer tools)."""
import argparse


def command_parser(description, *examples):
    """An ``argparse.ArgumentParser`` with ``description`` on top of --help and the ``examples`` (command lines,
    one string each; a string may hold a trailing comment or an indented continuation) at its end."""
    head = "example:" if len(examples) == 1 else "examples:"
    return argparse.ArgumentParser(description=description, epilog="\n".join([head] + [f"  {e}" for e in examples]),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
