#!/usr/bin/env bash
# Fold-stability benchmark: recipe variants x seeds at a hard synthetic setting (small lesions, a tiny backbone
# from scratch, 3 folds), each variant's runs then scored against one fresh held-out set by src.tools.experiments.stability
# (share of folds that learned, fold spread, gap of each CV estimate to the held-out AUROC).
#   bash scripts/stability.sh                         # every variant below, one after another (CPU: hours)
#   PARALLEL=8 DEVICE=cuda bash scripts/stability.sh before defaults   # chosen variants, 8 at a time
# Results: $OUT/<variant>/stability.csv and $OUT/<variant>.log (the last lines hold the summary).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}; OUT=${OUT:-runs/stability}; SEEDS=${SEEDS:-"1 2 3"}; PARALLEL=${PARALLEL:-1}
DEVICE=${DEVICE:-auto}; WORKERS=${WORKERS:-2}; LESION=${LESION:-1.5}; SIZE=${SIZE:-"256 384"}
N_TRAIN=${N_TRAIN:-240}; N_TEST=${N_TEST:-300}
BASE=${BASE:-"--model test_efficientnet --img_size 96 --epochs 20 --batch_size 8 --lr 0.003 --n_folds 3"}

declare -A VARIANT=(
  [before]="--patience 5 --min_epochs_fraction 0 --ema_decay 0"       # the recipe before EMA and min epochs
  [full]="--patience 100 --min_epochs_fraction 0 --ema_decay 0"       # whole schedule, best epoch kept
  [defaults]=""                                                       # configs/kium.yaml as it stands
  [ema_full]="--patience 100"                                         # defaults without early stopping
  [mirror]="--set augment.mirror_p=0.5"                               # + flip with the L/R label swap
  [wd]="--set train.weight_decay=0.05 --set model.dropout=0.4"        # + stronger regularisation
  [lr1e3]="--lr 0.001"                                                # + lower learning rate
  [warmup3]="--set train.warmup_epochs=3"                             # + longer warm-up
  [locw03]="--set train.location_loss_weight=0.3"                     # + lighter location targets
  [locw3]="--set train.location_loss_weight=3"                        # + heavier location targets
  [img128]="--img_size 128"                                           # + larger images
  [ep40]="--epochs 40"                                                # + twice the epochs
)
names=("$@"); [ ${#names[@]} -gt 0 ] || names=("${!VARIANT[@]}")
for v in "${names[@]}"; do [ -n "${VARIANT[$v]+x}" ] || { echo "unknown variant: $v (${!VARIANT[*]})"; exit 2; }; done

DATA=$OUT/data
[ -f "$DATA/groundtruth.csv" ] || $PY -m src.tools.demo --task kium --out "$DATA" --n_train "$N_TRAIN" --n_test 1 \
  --size_range $SIZE --lesion_scale "$LESION" --seed 7

one() {   # one variant: every seed (its own split, initialisation and augmentation), then the held-out check
  local v=$1 runs=()
  for s in $SEEDS; do
    $PY train.py --data_dir "$DATA/train_set" --fold all --weights_dir "$OUT/$v/seed$s" --seed "$s" \
      --device "$DEVICE" --num_workers "$WORKERS" --cache_dir "$OUT/cache" --resume $BASE ${VARIANT[$v]}
    runs+=("$OUT/$v/seed$s")
  done
  $PY -m src.tools.experiments.stability --runs "${runs[@]}" --out "$OUT/$v" --n_test "$N_TEST" --seed 2026 --size_range $SIZE \
    --lesion_scale "$LESION" --device "$DEVICE" --num_workers "$WORKERS"
}
export -f one; export PY OUT SEEDS DEVICE WORKERS LESION SIZE N_TEST BASE DATA
export VARIANT_DEFS; VARIANT_DEFS=$(declare -p VARIANT)
printf '%s\n' "${names[@]}" | xargs -P "$PARALLEL" -I{} bash -c 'eval "$VARIANT_DEFS"; one {} > "$OUT/{}.log" 2>&1 \
  && echo "{}: done" || echo "{}: FAILED (see $OUT/{}.log)"'
for v in "${names[@]}"; do echo "== $v: ${VARIANT[$v]:-(defaults)}"; tail -n 4 "$OUT/$v.log" 2>/dev/null || true; done
