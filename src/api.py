"""The pipeline as plain functions, for a notebook or a script (the commands parse options and call these):

    from src.api import train, predict, evaluate
    train("demo/train_set", "kium", "runs/w", overrides={"train.epochs": 3})     # -> CV summary (dict)
    table = predict("demo/test_set", "runs/w", out="output.csv")                 # -> output table (DataFrame)
    scores = evaluate("output.csv", "demo/groundtruth.csv", "kium")              # -> scores (dict)
"""
from .evaluation.evaluate import evaluate
from .inference.predict import predict
from .training.cross_validation import train

__all__ = ["train", "predict", "evaluate"]
