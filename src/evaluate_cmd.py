"""`python evaluate.py`: parses its options and calls evaluation.evaluate."""
from .evaluation.evaluate import evaluate
from .utilities.cli import command_parser
from .utilities.runtime import setup_logging


def parser():
    p = command_parser("Score output.csv against groundtruth.csv (rows matched by position, columns by name).",
                       "python evaluate.py                       # output.csv and groundtruth.csv here",
                       "python evaluate.py --pred runs/output.csv --gt data/groundtruth.csv --json scores.json",
                       "python evaluate.py --plots plots       # also roc.png and calibration.png",
                       "python evaluate.py --config fundus --pred pred_lesions --gt demo/groundtruth   # lesion maps")
    p.add_argument("--pred", help="predictions (default: output.csv here; a lesions task: the folder pred_lesions)")
    p.add_argument("--gt", help="truth (default: groundtruth.csv here; a lesions task: the folder groundtruth)")
    p.add_argument("--config", help="task YAML or task name naming the columns (default: the task of the trained "
                                    "weights, else the shipped task whose output columns are the prediction's)")
    p.add_argument("--weights_dir", help="the trained weights whose task scores the prediction when --config is not "
                                         "given (default: weights/ of this project)")
    p.add_argument("--n_boot", type=int, default=1000, help="bootstrap resamples for the AUROC interval (0: none)")
    p.add_argument("--json", help="also write every number to this JSON file")
    p.add_argument("--plots", metavar="DIR", help="also draw roc.png and calibration.png (lesions: pr_curves.png) "
                                                  "into this folder")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    setup_logging()
    evaluate(args.pred, args.gt, args.config, args.n_boot, args.json, args.plots, args.weights_dir)
    return 0
