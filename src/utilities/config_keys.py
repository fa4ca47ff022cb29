"""Every key a task YAML may hold, in one place: the required ones, the optional ones with the value each takes
when the YAML leaves it out (filled in once, at load: the code reads ``cfg[section][key]``, never a default of its
own), and the maps whose keys are the task's own names. docs/CONFIG.md says what each key means; a test keeps the
page and these tables equal. A key not listed here is refused in one line naming the nearest valid key."""
import difflib

from .errors import UserError

# keys without a default: a task YAML must give them (the kinds check their own needs, e.g. targets.primary)
REQUIRED = ("task", "data.id_column", "data.views", "targets.columns")

DEFAULTS = {
    "data": {"train_csv": "train.csv", "test_csv": "test.csv",
             # wide: one row per sample, a view's file found by file_pattern over {id} and {view} (subfolders with
             # '/'); long: one row per image, the file from path_column or file_pattern over the table's columns
             "layout": "wide", "file_pattern": "{id}{view}", "path_column": None,
             "sample_id": None,        # template over columns naming an image's sample (wide: default the id)
             "view_from": None,        # long: template over columns naming an image's view
             "view_aliases": {},       # long: other view names -> one of data.views (rare views onto the slots)
             "images_per_view": 1,     # images one view slot holds at most (several: encoded and pooled)
             "group": None,            # template over columns naming a sample's group (patient): grouped folds
             # None: every extension of a format the readers know (readers/formats.py)
             "extensions": None, "image_dir": None, "mask_dir": None, "mask_weights": None,
             "mask_subdirs": False, "channels": 1, "mask_threshold": 0},   # mask pixel > threshold: foreground
    "targets": {"kind": "binary", "primary": None, "location_output": "binary", "source_column": None,
                "stratify_column": None, "grade_column": None, "grade_classes": 5,
                # kind heads: per-head settings (classes, pos_weight, loss_weight), the uncertain value's
                # policy per column and what an empty cell means
                "heads": {}, "uncertain": {}, "uncertain_value": -1, "missing": "ignore"},
    "metric": {"name": None, "columns": None},     # None: the kind's own headline score
    "output": {"sample_submission": None},          # a file of the test folder whose rows and columns we follow
    "preprocess": {"img_size": 384, "mean": 0.449, "std": 0.226, "crop_border": True, "fov_crop": False,
                   "clahe_clip": 0.0, "clahe_grid": 8, "clahe_channel": "lightness", "mask_margin": 0.03,
                   # DICOM (readers/dicom.py): which frame(s) of a multi-frame file (min: the darkest each pixel
                   # gets, the filled vessels of an angiography run), which window
                   "frames": "min", "dicom_window": "header", "dicom_window_index": 0},
    "augment": {"affine_p": 0.5, "scale": [0.9, 1.1], "translate": 0.05, "rotate": 10, "contrast_p": 0.5,
                "gamma_p": 0.3, "noise_p": 0.2, "mirror_p": 0.0},
    "model": {"backbone": "tf_efficientnet_lite0", "pool": "gem", "fusion": "attention", "consistency": "softor",
              "dropout": 0.0, "location_head": "view", "mask_mode": "none", "decoder_width": 32,
              # start from ImageNet weights found offline (networks/pretrained.py); training records their provenance
              "pretrained": False, "imagenet": None},
    "train": {"n_folds": 5, "seed": 42, "epochs": 40, "batch_size": 8, "lr": 0.0003, "weight_decay": 0.01,
              "num_workers": None,      # DataLoader workers; None: min(4, CPUs); train.py --num_workers wins
              "warmup_epochs": 1, "patience": None, "min_epochs_fraction": 0.0, "ema_decay": 0.0, "accumulate": 1,
              "grad_clip": 1.0, "restarts": 0, "location_loss_weight": 1.0, "grade_weight": 0.0},
    "visibility": None,
    "mirror": None,
    "demo": {},
}
# maps whose keys are the task's own names (views, columns, heads), not keys of this table
FREE = ("visibility", "mirror", "demo", "data.view_aliases", "targets.heads", "targets.uncertain", "targets.missing",
        "model.imagenet")


def known_keys():
    """Every dotted key a YAML may hold (sections as 'data', keys as 'data.views')."""
    keys = set(REQUIRED)
    for section, value in DEFAULTS.items():
        keys.add(section)
        if isinstance(value, dict):
            keys.update(f"{section}.{k}" for k in value)
    keys.update(k.split(".")[0] for k in REQUIRED)
    return keys


def check_keys(cfg, where="config"):
    """A UserError (one line) for the first key of ``cfg`` that is not a key of a task YAML, naming the nearest
    valid key; the maps of FREE are the task's own and not looked into."""
    known = known_keys()

    def walk(node, prefix):
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            if dotted not in known:
                tails = {k.rsplit(".", 1)[-1]: k for k in sorted(known) if "." in k}
                near = ([tails[key]] if key in tails else []) or \
                    difflib.get_close_matches(dotted, sorted(known), n=1, cutoff=0.75) or \
                    [tails[m] for m in difflib.get_close_matches(str(key), sorted(tails), n=1, cutoff=0.75)]
                hint = f"; did you mean '{near[0]}'?" if near else " (docs/CONFIG.md lists every key)"
                raise UserError(f"{where}: unknown key '{dotted}'{hint}")
            if isinstance(value, dict) and dotted not in FREE and not prefix:
                walk(value, f"{dotted}.")
    walk(cfg, "")
