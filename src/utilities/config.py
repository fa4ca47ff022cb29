"""Task configuration: YAML defaults, command-line overrides, and the derived facts the code needs."""
import copy
from pathlib import Path

import yaml

from .config_keys import DEFAULTS, REQUIRED, check_keys
from .errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parents[2]      # src/utilities/config.py -> the project folder
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "kium.yaml"
DEFAULT_WEIGHTS = PROJECT_ROOT / "weights"
DEFAULT_CACHE = PROJECT_ROOT / "cache"

def project_path(path, default):
    """A path given by the user is taken as given; the default lives inside the project, not the cwd."""
    return Path(path).expanduser() if path else Path(default)


def find_config(path):
    """A config path as given, else relative to the project folder, else a task name in configs/."""
    if path is None:
        return DEFAULT_CONFIG
    given = Path(path).expanduser()
    for cand in (given, PROJECT_ROOT / given, PROJECT_ROOT / "configs" / f"{path}.yaml"):
        if cand.is_file():
            return cand
    return given


def load_config(path=None):
    path = find_config(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise UserError(f"config {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(cfg, dict):
        raise UserError(f"config {path} does not hold a mapping")
    validate(cfg, path)
    return complete(cfg)


def complete(cfg):
    """The config with every key of DEFAULTS that it leaves out filled in (a copy; the given dict is kept)."""
    out = copy.deepcopy(cfg)
    for section, value in DEFAULTS.items():
        if isinstance(value, dict):
            node = out.setdefault(section, {})
            if isinstance(node, dict):
                for key, default in value.items():
                    node.setdefault(key, copy.deepcopy(default))
        else:
            out.setdefault(section, copy.deepcopy(value))
    return out


def validate(cfg, where="config"):
    """What every task config needs: only known keys (config_keys.py), the required ones, views and columns that
    the visibility map names (the kind's own needs: tasks.kind_of)."""
    check_keys(cfg, where)
    for dotted in REQUIRED:
        node = cfg
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node or node[part] is None:
                raise UserError(f"{where}: missing key '{dotted}' (docs/CONFIG.md lists every key)")
            node = node[part]
    cols = cfg["targets"].get("columns") or []
    views = cfg["data"].get("views") or []
    for view, names in (cfg.get("visibility") or {}).items():
        if view not in views:
            raise UserError(f"{where}: visibility names unknown view '{view}'")
        unknown = set(names) - set(cols)
        if unknown:
            raise UserError(f"{where}: visibility of '{view}' names unknown targets {sorted(unknown)}")


def set_dotted(cfg, dotted, value):
    """Set ``cfg['a']['b'] = value`` for ``dotted='a.b'``; None means 'not given' and changes nothing."""
    if value is None:
        return
    node = cfg
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def parse_settings(items, cfg):
    """['augment.mirror_p=0.5', ...] -> {'augment.mirror_p': 0.5}; values are read as YAML (numbers, lists).
    A key the config does not have is refused (a typo would otherwise change nothing, silently)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise UserError(f"--set takes section.key=value, e.g. augment.mirror_p=0.5 (got '{item}')")
        node = cfg
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise UserError(f"--set {item}: the config has no key '{key}'")
            node = node[part]
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UserError(f"--set {item}: the value is not valid YAML") from None
    return out


def resolved(cfg, overrides):
    """A deep copy of cfg with ``{'section.key': value}`` overrides applied."""
    out = copy.deepcopy(cfg)
    for dotted, value in overrides.items():
        set_dotted(out, dotted, value)
    return out


def save_config(cfg, path):
    from .files import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(cfg, sort_keys=False))


# ---- derived facts -------------------------------------------------------------------------------

def target_columns(cfg):
    return list(cfg["targets"]["columns"])


def primary(cfg):
    return cfg["targets"].get("primary")           # None: a task without a primary column (multiclass)


def location_columns(cfg):
    return [c for c in target_columns(cfg) if c != primary(cfg)]


def views(cfg):
    return list(cfg["data"]["views"])


def visibility_matrix(cfg):
    """(n_views, n_locations) 0/1 list: which view may show which location; all ones without a map."""
    vis = cfg["visibility"]
    locs = location_columns(cfg)
    if not vis:
        return [[1] * len(locs) for _ in views(cfg)]
    return [[int(loc in (vis.get(v) or [])) for loc in locs] for v in views(cfg)]


def mirror_permutations(cfg):
    """Index permutations (views, targets) for a horizontal flip, or None when the task has no mirror map."""
    mirror = cfg["mirror"]
    if not mirror:
        return None

    def perm(names, pairs):
        index = {n: i for i, n in enumerate(names)}
        out = list(range(len(names)))
        for a, b in pairs:
            out[index[a]], out[index[b]] = index[b], index[a]
        return out

    return perm(views(cfg), mirror.get("views", [])), perm(target_columns(cfg), mirror.get("targets", []))

