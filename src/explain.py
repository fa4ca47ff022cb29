"""Where did the model look? `python -m src.explain --data_dir DIR --index I` writes a Grad-CAM grid.

Grad-CAM (Selvaraju et al. 2017) on the backbone's last feature map of every view of one patient: the map
is weighted by the gradient of the explained output (default: the primary target, e.g. Aneurysm), summed
over channels, kept where positive, averaged over the trained folds and scaled by the largest value over
all views, so a view without evidence stays dark next to one with it. The title holds the fold-averaged
prediction (the probability and the locations over their test.py thresholds) and, for a training folder,
the truth.
"""
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .data.check import guess_split, load_checked
from .inference.ensemble import load_folds, load_models
from .inference.gradcam import grad_cam, gradcam_grid
from .loading.dataset import MultiViewDataset
from .networks.forward import logits_of
from .tasks import kind_of
from .utilities import config as C
from .utilities.cli import command_parser
from .utilities.errors import UserError, run_cli
from .utilities.files import keep_previous
from .utilities.runtime import pick_device, setup_logging

log = logging.getLogger("harness")


def main(argv=None):
    p = command_parser("Grad-CAM overlays of one patient's views, as one PNG grid.",
                       "python -m src.explain --data_dir test_set --index 0",
                       "python -m src.explain --data_dir train_set --id 1017 --target L_MCA")
    p.add_argument("--data_dir", required=True, help="a test or training folder")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=int, help="row of the folder's CSV (0 = first patient)")
    which.add_argument("--id", help="the patient's id")
    p.add_argument("--weights_dir", help="folder with fold_K/best.pt (default: weights/ of this project)")
    p.add_argument("--target", help="output column to explain (default: the primary target; multiclass: the "
                                    "predicted class)")
    p.add_argument("--out", help="PNG to write (default: gradcam_<id>.png here)")
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    setup_logging()
    if args.out and Path(args.out).expanduser().is_dir():
        raise UserError(f"--out {args.out} is a folder; give a file name such as {Path(args.out) / 'gradcam.png'}")
    weights_dir = C.project_path(args.weights_dir, C.DEFAULT_WEIGHTS)
    ckpts, cfg = load_folds(weights_dir)
    kind = kind_of(cfg)
    kind.check_explainable()
    # file-level checks only: decoding the whole folder to explain one patient is wasted work
    samples = load_checked(args.data_dir, cfg, guess_split(args.data_dir, cfg), decode=False)
    if args.id is not None:
        if args.id not in samples.ids:
            raise UserError(f"id '{args.id}' is not in {args.data_dir} (first ids: {', '.join(samples.ids[:5])})")
        index = samples.ids.index(args.id)
    else:
        index = args.index
        if not 0 <= index < len(samples.ids):
            raise UserError(f"--index must lie in 0..{len(samples.ids) - 1} ({len(samples.ids)} patients)")
    cols, views = C.target_columns(cfg), C.views(cfg)
    device = pick_device(args.device)
    models = load_models(ckpts, device)
    x, y, _ = MultiViewDataset(samples, [index], cfg, train=False, normalize=False)[0]   # in [0, 1]
    truth = y.numpy() if y.numel() else None

    with torch.no_grad():
        probs = np.mean([kind.probabilities(logits_of(m, x[None], device)).cpu()[0].numpy() for m in models], 0)
    if args.target is None:
        target = kind.explain_target(probs)
    elif args.target in cols:
        target = cols.index(args.target)
    else:
        raise UserError(f"--target must be one of {', '.join(cols)}")
    cams = torch.stack([grad_cam(m, x, target, device) for m in models]).mean(0)       # (V, h, w)
    size = x.shape[-1]
    cams = F.interpolate(cams[:, None], size=(size, size), mode="bilinear", align_corners=False)[:, 0].numpy()
    share = cams.sum((1, 2)) / max(float(cams.sum()), 1e-12)
    cams = cams / max(float(cams.max()), 1e-12)
    channels = int(cfg["data"]["channels"])
    images = x[:, :channels].clamp(0, 1).permute(0, 2, 3, 1).numpy()                      # (V, S, S, C)
    images = images[..., 0] if channels == 1 else images

    sid = samples.ids[index]
    out = Path(args.out or f"gradcam_{sid}.png").expanduser()
    if keep_previous(out):
        log.info("%s existed: the previous file is kept as %s.bak", out, out.name)
    names = views if len(views) == len(images) else [f"view {v}" for v in range(len(images))]
    gradcam_grid(images, cams, [f"{n}  ({s:.0%} of the evidence)" for n, s in zip(names, share)],
                 f"{cfg['data']['id_column']} {sid}: Grad-CAM of {cols[target]} ({len(models)} folds)\n"
                 + kind.describe(probs, truth, weights_dir, ckpts), out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
