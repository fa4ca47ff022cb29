"""A stand-in for the organizers' scorer as the brief describes it (not our code path): reads
groundtruth.csv and output.csv from the current folder, rows by position, columns by name (a missing
column counts as all 0), prints the Aneurysm ROC AUC and the location accuracy."""
import pandas as pd
from sklearn.metrics import roc_auc_score

gt = pd.read_csv("groundtruth.csv")
out = pd.read_csv("output.csv")
locations = [c for c in gt.columns if c not in ("Index", "Aneurysm")]
print(roc_auc_score(gt["Aneurysm"].values, out["Aneurysm"].values))
errors = sum((gt[c] - (out[c] if c in out.columns else 0)).abs().sum() for c in locations)
print(1 - errors / (len(gt) * len(locations)))
