#!/usr/bin/env bash
# Issue 16: each mask mode on chest-X-ray sets with a shortcut outside the lungs (ICU tags, lines, devices that
# follow the grade in train_set only) and without one; OOF, test (unseen split, masks from the segmenter) and
# CV minus test per mode. Usage: W=/tmp/masking_measure bash scripts/masking_measure.sh
# CPU, 2 cores: about 60 minutes. Results: $W/r_{name}/masking_results.md
set -euo pipefail
cd "$(dirname "$0")/.."
W=${W:-/tmp/masking_measure}
PY=${PY:-.venv/bin/python}
COMMON="--model test_efficientnet --img_size 128 --epochs 12 --lr 0.003 --n_folds 3 --device cpu"
mkdir -p "$W"
setting() {  # name, edema contrast, shortcut strength, n_train, n_test, min size, max size, modes
  local name=$1 contrast=$2 strength=$3 n_train=$4 n_test=$5 lo=$6 hi=$7 modes=$8
  [ -d "$W/d_$name" ] || $PY -m src.tools.demo --task cxr --out "$W/d_$name" --n_train "$n_train" \
    --n_test "$n_test" --seed 1 --size_range "$lo" "$hi" --confounders "$strength" --lesion_scale "$contrast"
  # the test folders have no masks: the lung segmenter predicts them, as for an organizer
  [ -f "$W/lungseg/fold_0/best.pt" ] || $PY train.py --config cxr_lungseg --data_dir "$W/d_$name/train_set" \
    --weights_dir "$W/lungseg" --fold 0 $COMMON --epochs 6
  $PY -m src.tools.experiments.measure_masking --data_dir "$W/d_$name/train_set" --test_dir "$W/d_$name/test_set" \
    --gt "$W/d_$name/groundtruth.csv" --mask_weights "$W/lungseg" --out "$W/r_$name" --modes "$modes" $COMMON \
    > "$W/r_$name.log" 2>&1
  echo "== $name: edema contrast $contrast, shortcut strength $strength, $n_train train / $n_test test, $lo-$hi px"
  cat "$W/r_$name/masking_results.md"
}
setting a 0.5 1.0 400 200 256 320 none,pool,masked,channel,crop,swap   # the shortcut stand-in
setting plain 1.0 0 400 200 256 320 none,pool,masked,crop,swap   # today's stand-in
setting plain_hard 0.5 0 400 200 256 320 none,pool,masked,crop,swap   # harder edema, no shortcut
setting b 0.7 0.8 200 200 160 200 none,pool,masked,crop,swap   # weaker shortcut, fewer, smaller films
