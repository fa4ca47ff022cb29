"""Checkpoints that describe themselves, written atomically and read without unpickling code."""
import pickle
import platform
from pathlib import Path

import torch

from .errors import UserError
from .files import atomic_torch_save

FORMAT = "mvharness-ckpt-1"


def versions():
    import albumentations
    import numpy
    import sklearn
    import timm

    return {"python": platform.python_version(), "torch": str(torch.__version__), "timm": timm.__version__,
            "albumentations": albumentations.__version__, "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__}


def save(obj, path):
    atomic_torch_save({"format": FORMAT, **obj}, path)


def load(path, mmap=False):
    """A checkpoint dict, loaded with weights_only=True; anything else is a one-line UserError.

    mmap: tensors are mapped, not read (for a look at the small fields of a large last.pt)."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):       # a class or function to import: code, not weights
            raise UserError(f"{path} was refused: it carries pickled objects beyond weights (unsafe to load); "
                            "use a checkpoint written by train.py") from None
        raise UserError(f"{path} is not a readable checkpoint (corrupt or truncated); copy it again or retrain "
                        "that fold") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise UserError(f"{path} is not a readable checkpoint ({str(exc).splitlines()[0][:120]}); "
                        "copy it again or retrain that fold") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise UserError(f"{path} is not a checkpoint written by this harness's train.py")
    return ckpt
