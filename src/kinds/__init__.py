"""Task kinds, one module each (binary.py, multiclass.py, segmentation.py), behind the interface of base.Kind.

A task config names its kind in ``targets.kind``; ``kind_of(cfg)`` returns the object that answers for it.
A new kind is one module here (a subclass of base.Kind or base.Classification), its entry in KINDS, and a YAML.
"""
from ..errors import UserError
from .binary import Binary
from .multiclass import Multiclass
from .segmentation import Segmentation

KINDS = {k.name: k for k in (Binary, Multiclass, Segmentation)}


def kind_of(cfg, where="config"):
    """The kind object of a task config (checked against it: a one-line UserError when they disagree)."""
    name = cfg["targets"].get("kind", "binary")
    if name not in KINDS:
        raise UserError(f"{where}: targets.kind must be one of {', '.join(KINDS)}, not '{name}'")
    return KINDS[name](cfg, where)
