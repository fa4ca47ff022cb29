#!/usr/bin/env bash
# Issue 16: mask modes on a chest-X-ray set with a shortcut outside the lungs, and on today's stand-in.
# Usage: W=/tmp/masking_measure [STRENGTH=0.8] [N_TRAIN=400] [N_TEST=200] [SIZES="256 320"] bash scripts/masking_measure.sh
# CPU, 2 cores: about 40 minutes. Results: $W/{shortcut,plain}_runs/masking_results.md
set -euo pipefail
W=${W:-/tmp/masking_measure}
PY=${PY:-.venv/bin/python}
STRENGTH=${STRENGTH:-0.8}
N_TRAIN=${N_TRAIN:-400}
N_TEST=${N_TEST:-200}
SIZES=${SIZES:-256 320}
COMMON="--model test_efficientnet --img_size 128 --epochs 12 --lr 0.003 --n_folds 3 --device cpu"
mkdir -p "$W"
[ -d "$W/shortcut" ] || $PY -m src.tools.demo_data --task cxr --out "$W/shortcut" --n_train "$N_TRAIN" \
  --n_test "$N_TEST" --seed 1 --size_range $SIZES --confounders "$STRENGTH"
[ -d "$W/plain" ] || $PY -m src.tools.demo_data --task cxr --out "$W/plain" --n_train "$N_TRAIN" \
  --n_test "$N_TEST" --seed 1 --size_range $SIZES
# the test folders have no masks: a lung segmenter (one fold) predicts them, as for an organizer
[ -f "$W/lungseg/fold_0/best.pt" ] || $PY train.py --config cxr_lungseg --data_dir "$W/shortcut/train_set" \
  --weights_dir "$W/lungseg" --fold 0 $COMMON --epochs 6
$PY -m src.tools.measure_masking --data_dir "$W/shortcut/train_set" --test_dir "$W/shortcut/test_set" \
  --gt "$W/shortcut/groundtruth.csv" --mask_weights "$W/lungseg" --out "$W/shortcut_runs" \
  --modes ${MODES_SHORTCUT:-none,pool,masked,channel,crop} $COMMON
$PY -m src.tools.measure_masking --data_dir "$W/plain/train_set" --test_dir "$W/plain/test_set" \
  --gt "$W/plain/groundtruth.csv" --mask_weights "$W/lungseg" --out "$W/plain_runs" \
  --modes ${MODES_PLAIN:-none,pool,crop} $COMMON
