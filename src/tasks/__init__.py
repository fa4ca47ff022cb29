"""tasks/: the task kinds (targets.kind of a YAML): binary.py, multiclass.py, segmentation.py, lesions.py, each a
subclass of base.Kind that answers for its task: labels, network arguments, loss, validation, CV summary, the
predictions test.py writes (output.py: the organizers' table; lesion_files.py: lesion maps) and their scores.
``kind_of(cfg)`` returns the object; a new kind is one module here, found at import.

May import: utilities, readers, preprocessing, loading, networks, metrics.
"""
import importlib
import inspect
import pkgutil

from ..utilities.errors import UserError
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
