"""One place that turns expected failures into a one-line message and exit code 2."""
import sys


class UserError(Exception):
    """A problem the user can fix (bad path, bad data, missing weights): shown as one line, exit code 2."""


def run_cli(main, argv=None):
    """Run ``main(argv)``; a UserError prints ``error: ...`` on stderr and exits 2, never a traceback."""
    try:
        code = main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
