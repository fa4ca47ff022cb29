"""Ctrl-C during training that is never lost: remembered as well as raised, and held while an epoch is saved.

A library can turn a KeyboardInterrupt into another error (matplotlib's first plot loads a compiled backend,
whose loader makes it an ImportError, which the plot's guard then logs), so a raised KeyboardInterrupt alone
may never reach the training loop. While ``ctrl_c_remembered()`` is active every Ctrl-C is also recorded, and
``ctrl_c_after()`` raises a recorded one when its block is done: a swallowed Ctrl-C ends the run at the end of
that epoch instead of never, and one that arrives while metrics.csv and last.pt are written waits until both
agree (a second Ctrl-C stops at once). A SIGINT that the parent process ignored stays ignored.
"""
import contextlib
import signal

_state = {"seen": False, "held": False}


def _on_ctrl_c(signum, frame):
    again, _state["seen"] = _state["seen"], True
    if again or not _state["held"]:
        raise KeyboardInterrupt


@contextlib.contextmanager
def ctrl_c_remembered():
    """Inside: every Ctrl-C is remembered as well as raised (Python's own handler is back afterwards)."""
    _state.update(seen=False, held=False)
    before = signal.getsignal(signal.SIGINT)
    mine = before is signal.default_int_handler
    if mine:
        signal.signal(signal.SIGINT, _on_ctrl_c)
    try:
        yield
    finally:
        if mine:
            signal.signal(signal.SIGINT, before)


@contextlib.contextmanager
def ctrl_c_after():
    """A Ctrl-C inside takes effect when the block is done (a second one at once); one that was swallowed
    before the block is raised at its end."""
    _state["held"] = True
    try:
        yield
    finally:
        _state["held"] = False
    if _state["seen"]:
        raise KeyboardInterrupt
