"""`python test.py`: parses its options and calls inference.predict (the organizers' CSV, or masks)."""
from .inference.predict import AUTO, predict
from .utilities.cli import command_parser
from .utilities.runtime import setup_logging


def parser():
    p = command_parser("Predict a test folder with every trained fold and write output.csv.",
                       "python test.py --data_dir test_set",
                       "python /path/to/submission/test.py --data_dir /data/test_set --out /results/output.csv --tta")
    p.add_argument("--data_dir", required=True, help="test folder holding test.csv and the images")
    p.add_argument("--weights_dir", help="folder with fold_K/best.pt (default: weights/ of this project)")
    p.add_argument("--out", default=AUTO, help="output CSV (default: output.csv in the current folder; a "
                   "segmentation task: the masks' folder, default pred_masks/)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    p.add_argument("--tta", action="store_true", help="also predict the mirrored patient (left/right swapped)")
    p.add_argument("--location_probs", action="store_true",
                   help="write location probabilities instead of 0/1 labels")
    p.add_argument("--mask_weights", help="image+mask tasks: segmentation weights folder for test sets without "
                   "masks (default: the task config's data.mask_weights)")
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--num_workers", type=int, help="decoding worker processes (default min(4, CPUs))")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    setup_logging()
    predict(args.data_dir, args.weights_dir, args.out, args.device, args.tta, args.location_probs,
            args.mask_weights, args.batch_size, args.num_workers)
    return 0
