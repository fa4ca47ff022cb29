"""Task kinds, one module each (binary.py, multiclass.py, segmentation.py), behind the interface of base.Kind.

A task config names its kind in ``targets.kind``; ``kind_of(cfg)`` returns the object that answers for it.
A new kind is one module here (a subclass of base.Kind or base.Classification with its own ``name``) and a
YAML that names it: the modules of this package are found and read at import.
"""
import importlib
import inspect
import pkgutil

from ..errors import UserError
from .base import Kind


def _discover():
    kinds = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Kind) and cls.__module__ == module.__name__ and cls.name:
                kinds[cls.name] = cls
    return kinds


KINDS = _discover()


def kind_of(cfg, where="config"):
    """The kind object of a task config (checked against it: a one-line UserError when they disagree)."""
    name = cfg["targets"].get("kind", "binary")
    if name not in KINDS:
        raise UserError(f"{where}: targets.kind must be one of {', '.join(sorted(KINDS))}, not '{name}'")
    return KINDS[name](cfg, where)
