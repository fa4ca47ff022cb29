#!/usr/bin/env bash
# Training from scratch against ImageNet weights (found offline, src/networks/pretrained.py) at the same settings, one cell
# per (data set, start): fold 0 of a 3-fold split (its validation AUROC per epoch in metrics.csv), then that
# fold's model on a held-out set (test.py + evaluate.py). CPU-sized; the numbers are in docs/RECIPE.md,
# "ImageNet weights". One line per cell in $W/summary.txt; every log beside it.
#   W=/tmp/imagenet_measure bash scripts/imagenet_measure.sh            # every cell (2-core CPU: hours)
#   CELLS="k3_in k3_scratch" bash scripts/imagenet_measure.sh           # chosen cells
# FOLD=all gives a cell all its folds (the run's CV summary, and the fold ensemble on the held-out set).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${W:-/tmp/imagenet_measure}; PY=${PY:-.venv/bin/python}; FOLD=${FOLD:-0}; DEVICE=${DEVICE:-cpu}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
mkdir -p "$W"
LITE="--model tf_efficientnet_lite0"

data() {   # NAME TASK src.tools.demo options...: made once
  local name=$1 task=$2; shift 2
  [ -d "$W/$name" ] || $PY -m src.tools.demo --task "$task" --out "$W/$name" "$@" > "$W/$name.gen.log" 2>&1
}
data k1 kium --n_train 150 --n_test 150 --size_range 720 1255 --lesion_scale 1 --seed 11
data k3 kium --n_train 240 --n_test 120 --size_range 720 1255 --lesion_scale 1 --seed 31
data k4 kium --n_train 240 --n_test 120 --size_range 480 720 --lesion_scale 1.5 --seed 41
data k5 kium --n_train 160 --n_test 120 --size_range 256 384 --lesion_scale 2.5 --seed 51
data c1 cxr --n_train 200 --n_test 100 --lesion_scale 0.3 --seed 13
data c1h cxr --n_train 100 --n_test 1 --lesion_scale 0.3 --seed 23
data f1 fundus --n_train 120 --n_test 60 --lesion_scale 0.5 --seed 14
if [ ! -f "$W/c1h/held/test.csv" ]; then   # a fresh labelled cxr set (with lung masks) as the held-out folder
  mkdir -p "$W/c1h/held"; ln -sfn ../train_set/images "$W/c1h/held/images"; ln -sfn ../train_set/masks "$W/c1h/held/masks"
  $PY - "$W/c1h" <<'PY'
import sys
import pandas as pd
root = sys.argv[1]
t = pd.read_csv(f"{root}/train_set/train.csv", dtype={"id": str})
t[["id"]].to_csv(f"{root}/held/test.csv", index=False)
pd.DataFrame({"id": t.id, **{f"grade_{k}": (t.severity == k).astype(int) for k in range(4)}}).to_csv(
    f"{root}/groundtruth.csv", index=False)
PY
fi

cell() {   # NAME CONFIG DATA TEST GT OUT then train.py options
  local name=$1 config=$2 data=$3 test=$4 gt=$5 out=$6; shift 6
  local w=$W/runs/$name; mkdir -p "$w"
  local t0; t0=$(date +%s)
  $PY train.py --config "$config" --data_dir "$W/$data/train_set" --fold "$FOLD" --weights_dir "$w" --n_folds 3 \
    --restarts 0 --patience 100 --device "$DEVICE" --num_workers 1 --cache_dir "$W/cache" --resume "$@" >> "$w/train.log" 2>&1
  local t1; t1=$(date +%s)
  local lp=""; [ "$config" = kium ] && lp="--location_probs"
  rm -rf "${w:?}/$out"
  $PY test.py --data_dir "$test" --weights_dir "$w" --out "$w/$out" --device "$DEVICE" --num_workers 1 $lp > "$w/test.log" 2>&1
  $PY evaluate.py --config "$config" --pred "$w/$out" --gt "$gt" --json "$w/scores.json" > "$w/eval.log" 2>&1
  echo "== $name (fold $FOLD, train $((t1 - t0)) s): $*" >> "$W/summary.txt"
  grep -h "epoch" "$w/train.log" | sed 's/^/   /' >> "$W/summary.txt"
  head -n 2 "$w/eval.log" | sed 's/^/   held-out: /' >> "$W/summary.txt"
}

K="kium k1 $W/k1/test_set $W/k1/groundtruth.csv output.csv"
K3="kium k3 $W/k3/test_set $W/k3/groundtruth.csv output.csv"
K4="kium k4 $W/k4/test_set $W/k4/groundtruth.csv output.csv"
K5="kium k5 $W/k5/test_set $W/k5/groundtruth.csv output.csv"
C="cxr_masked c1 $W/c1h/held $W/c1h/groundtruth.csv output.csv"
F="fundus f1 $W/f1/test_set $W/f1/groundtruth pred"
declare -A CELL=(
  [k1_in]="$K $LITE --pretrained --epochs 5 --img_size 128 --lr 0.001"
  [k3_in]="$K3 $LITE --pretrained --epochs 8 --img_size 128 --lr 0.0003"
  [k3_scratch]="$K3 $LITE --no_pretrained --epochs 8 --img_size 128 --lr 0.0003"
  [k4_in]="$K4 $LITE --pretrained --epochs 8 --img_size 128 --lr 0.0003"
  [k4_scratch]="$K4 $LITE --no_pretrained --epochs 8 --img_size 128 --lr 0.0003"
  [k5_in]="$K5 $LITE --pretrained --epochs 5 --img_size 128 --lr 0.0003"
  [k5_scratch]="$K5 $LITE --no_pretrained --epochs 5 --img_size 128 --lr 0.0003"
  [c1_in]="$C $LITE --pretrained --epochs 6 --img_size 128"
  [c1_scratch]="$C $LITE --no_pretrained --epochs 6 --img_size 128"
  [f1_in]="$F $LITE --pretrained --epochs 6 --img_size 160"
  [f1_scratch]="$F $LITE --no_pretrained --epochs 6 --img_size 160"
)
names=(${CELLS:-k5_in k5_scratch k3_in k3_scratch k4_in k4_scratch c1_in c1_scratch f1_in f1_scratch k1_in})
for n in "${names[@]}"; do
  [ -n "${CELL[$n]+x}" ] || { echo "unknown cell: $n (${!CELL[*]})"; exit 2; }
  # shellcheck disable=SC2086
  cell "$n" ${CELL[$n]}
done
cat "$W/summary.txt"
