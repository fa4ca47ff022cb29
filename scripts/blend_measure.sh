#!/usr/bin/env bash
# Best single run vs a Caruana blend of runs (CPU scale, K-ium stand-in, 3 folds on one shared split): each run's
# out-of-fold AUROC, the blend's optimistic OOF and nested estimates, and all of them on a fresh held-out set.
# Usage: W=/tmp/blend_measure bash scripts/blend_measure.sh   (knobs: N_TRAIN SIZE LESION EPOCHS N_HELDOUT;
#   SEEDS=1: the three runs are one configuration with seeds 1, 2, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${W:-/tmp/blend_measure}; PY=${PY:-.venv/bin/python}
N_TRAIN=${N_TRAIN:-150}; SIZE=${SIZE:-"256 384"}; LESION=${LESION:-3}; EPOCHS=${EPOCHS:-12}; N_HELDOUT=${N_HELDOUT:-300}
COMMON="--fold all --n_folds 3 --epochs $EPOCHS --lr 0.003 --batch_size 8 --device cpu --restarts 0"
mkdir -p "$W"
[ -d "$W/data" ] || $PY -m src.tools.demo --task kium --out "$W/data" --n_train "$N_TRAIN" --n_test 1 \
    --size_range $SIZE --lesion_scale "$LESION" --seed 11
run() {  # name, options
  local name=$1; shift
  mkdir -p "$W/$name"
  [ -f "$W/r1/folds.csv" ] && [ ! -f "$W/$name/folds.csv" ] && cp "$W/r1/folds.csv" "$W/$name/"
  $PY train.py --data_dir "$W/data/train_set" --weights_dir "$W/$name" $COMMON --resume "$@" > "$W/$name.log" 2>&1
}
if [ -n "${SEEDS:-}" ]; then      # the cheap first ensemble: one configuration, three seeds
  run r1 --model test_efficientnet --img_size 96 --seed 1
  run r2 --model test_efficientnet --img_size 96 --seed 2
  run r3 --model test_efficientnet --img_size 96 --seed 3
else
  run r1 --model test_efficientnet --img_size 96
  run r2 --model test_resnet --img_size 96
  run r3 --model test_efficientnet --img_size 128 --seed 7
fi
rm -rf "$W/ens"
$PY -m src.tools.experiments.blend --runs "$W/r1" "$W/r2" "$W/r3" --out "$W/ens" | tee "$W/blend.txt"
for name in r1 r2 r3 ens; do
  echo "== $name"
  $PY -m src.tools.experiments.honesty --weights_dir "$W/$name" --n_test "$N_HELDOUT" --seed 12345 --size_range $SIZE \
      --lesion_scale "$LESION" --out "$W/honesty" 2>/dev/null | grep -A3 "out-of-fold CV vs"
done | tee "$W/honesty.txt"
