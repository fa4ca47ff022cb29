"""Where a run's starting weights came from, as it is reported: the ``model.imagenet`` record every fold's
config and checkpoint carry (networks/pretrained.py writes it), read back from a weights folder and put into
words for the training log, the CV summary and SUBMISSION.md."""
from ..utilities import config as C
from ..utilities import layout

DETAILS = ("short", "full", "document")


def describe(record, detail="full"):
    """One line naming a ``model.imagenet`` record (None: trained from scratch).

    detail: 'short' (a fold's log line: source and version, the sha256's first 12 digits), 'full' (logs and
    the CV summary: the whole sha256 and the licence) or 'document' (SUBMISSION.md: also the input normalisation
    the weights were trained with, the sha256 as code)."""
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {DETAILS}")
    if not record:
        return "scratch (no --pretrained / --pretrained_path given)" if detail == "short" else \
            "none (trained from scratch)"
    name = record["source"] + (f" {record['version']}" if record.get("version") else "")
    if detail == "short":
        return f"ImageNet weights: {name} (sha256 {record['sha256'][:12]})"
    if detail == "full":
        return f"{name}, sha256 {record['sha256']}, licence: {record['licence']}"
    return (f"{record['source']}, version {record['version'] or 'n/a'}, sha256 `{record['sha256']}`, licence: "
            f"{record['licence']}; input normalisation mean {record['mean']}, std {record['std']}")


def provenance(weights_dir, ckpts=()):
    """The distinct ``model.imagenet`` records of a run's fold configs (or an ensemble's members' configs); for
    folds copied without their config.yaml, those of the checkpoints ``ckpts``; [] when there is neither,
    [None] for folds trained from scratch."""
    configs = [C.load_config(path) for path in layout.fold_configs(weights_dir)] or [c["config"] for c in ckpts]
    records = []
    for cfg in configs:
        record = cfg["model"].get("imagenet")
        if record not in records:
            records.append(record)
    return records
