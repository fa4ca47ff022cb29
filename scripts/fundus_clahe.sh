#!/usr/bin/env bash
# CLAHE clip limits and the grade head on the synthetic fundus set (CPU scale): fold 0 of a 3-fold split
# (validation AUPR) and a held-out test set (test.py + evaluate.py), one line per setting in $W/results.tsv.
# Usage: W=/tmp/fundus_measure bash scripts/fundus_clahe.sh   (knobs: N_TRAIN N_TEST SIZE EPOCHS CONTRAST MODEL)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${W:-/tmp/fundus_measure}; PY=${PY:-.venv/bin/python}
N_TRAIN=${N_TRAIN:-150}; N_TEST=${N_TEST:-60}; SIZE=${SIZE:-192}; EPOCHS=${EPOCHS:-20}; CONTRAST=${CONTRAST:-1.0}
MODEL=${MODEL:-test_resnet}
SETTINGS=${SETTINGS:-"clip0:preprocess.clahe_clip=0 clip1:preprocess.clahe_clip=1 clip2:preprocess.clahe_clip=2 clip4:preprocess.clahe_clip=4 clip2_nograde:train.grade_weight=0"}
mkdir -p "$W"
[ -d "$W/data" ] || $PY -m src.tools.demo --task fundus --out "$W/data" --n_train "$N_TRAIN" --n_test "$N_TEST" \
    --lesion_scale "$CONTRAST" --seed 7
for item in $SETTINGS; do
  name=${item%%:*}; set_arg=${item#*:}
  [ -f "$W/$name/fold_0/best.pt" ] || $PY train.py --config fundus --data_dir "$W/data/train_set" --weights_dir "$W/$name" \
      --fold 0 --n_folds 3 --epochs "$EPOCHS" --img_size "$SIZE" --model "$MODEL" --lr 0.003 --device cpu \
      --set "$set_arg" > "$W/$name.train.log" 2>&1
  rm -rf "$W/$name.pred"
  $PY test.py --data_dir "$W/data/test_set" --weights_dir "$W/$name" --out "$W/$name.pred" --device cpu > "$W/$name.test.log" 2>&1
  $PY evaluate.py --config fundus --pred "$W/$name.pred" --gt "$W/data/groundtruth" --n_boot 200 --json "$W/$name.json" \
      > "$W/$name.eval.log" 2>&1
  $PY - "$W" "$name" <<'PY'
import json, sys
import pandas as pd
w, name = sys.argv[1:]
hist = pd.read_csv(f"{w}/{name}/fold_0/metrics.csv")
best = hist.loc[hist["val_aupr"].idxmax()]
test = json.load(open(f"{w}/{name}.json"))
les = " ".join(f"{k} {v['aupr']:.3f}" for k, v in test["lesions"].items())
kappa = test.get("grade", {}).get("kappa", float("nan"))
print(f"{name}\tval_aupr {best['val_aupr']:.4f} (epoch {int(best['epoch'])})\ttest_aupr {test['mean_lesion_aupr']:.4f} "
      f"[{test['mean_lesion_aupr_ci95'][0]:.3f}, {test['mean_lesion_aupr_ci95'][1]:.3f}]\t{les}\ttest_kappa {kappa:.3f}")
PY
done | tee -a "$W/results.tsv"
