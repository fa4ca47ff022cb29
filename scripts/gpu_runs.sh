#!/usr/bin/env bash
# Everything measured on a lent GPU machine in one background job (docs/RECIPE.md, docs/PERFORMANCE.md):
#   A  fold-stability variants at the hard CPU-scale setting (scripts/stability.sh), many at a time, while the
#      full-size data sets are generated
#   B  the speed targets P1/P2 (python -m src.tools.experiments.bench), alone on the GPU
#   C  the recipe at realistic scale: 600 train / 300 held-out patients, 720-1255 px, lesion_scale 1, the base
#      recipe and one change each (SWEEP), one shared 5-fold split, every configuration a process of its own
#      training its folds in order for C_SECONDS, then each scored on the held-out set with its finished folds
# Start: setsid nohup bash scripts/gpu_runs.sh > $W/log 2>&1 &   (W=${W:-/tmp/gpu}); results under $W/results.
set -uo pipefail
cd "$(dirname "$0")/.."
W=${W:-/tmp/gpu}; PY=${PY:-python3}; R=$W/results; mkdir -p "$R"
STAGES=${STAGES:-"A B C"}
VARIANTS=${VARIANTS-"before full defaults ema_full mirror wd lr1e3 warmup3 locw03 img128"}
SWEEP=${SWEEP:-"lr=0.001;model=efficientnet_b0;img_size=512"}
EPOCHS=${EPOCHS:-40}; FOLDS=${FOLDS:-"0 1 2 3 4"}
C_SECONDS=${C_SECONDS:-900}; C_WORKERS=${C_WORKERS:-4}; C_OPTS=${C_OPTS:-"--restarts 0"}
stamp() { echo "$(date +%T) $*" | tee -a "$R/stages.txt"; }

if [[ $STAGES == *A* ]]; then
  stamp "A start"
  $PY -c "from pathlib import Path; from src.tools.experiments.bench import dataset; w = Path('$W/bench')
dataset(w, 600, 10, (720, 1255)); dataset(w, 10, 1000, (720, 1255))" > "$R/gen_bench.log" 2>&1 &
  gen_bench=$!
  $PY -m src.tools.demo --task kium --out "$W/real" --n_train 600 --n_test 300 --size_range 720 1255 \
    --lesion_scale 1 --seed 11 > "$R/gen_real.log" 2>&1 &
  gen_real=$!
  if [ -n "$VARIANTS" ]; then
    PY=$PY OUT=$W/stab PARALLEL=10 DEVICE=cuda WORKERS=1 bash scripts/stability.sh $VARIANTS > "$R/stability.txt" 2>&1
    for v in $VARIANTS; do cp "$W/stab/$v/stability.csv" "$R/stab_$v.csv" 2>/dev/null; done
  fi
  wait $gen_bench $gen_real
  stamp "A done"
fi

if [[ $STAGES == *B* ]]; then
  stamp "B start"
  $PY -m src.tools.experiments.bench --only P1,P2 --work "$W/bench" --out "$R" --model resnet50 --img_size 384 --batch_size 16 \
    --num_workers 16 > "$R/bench.txt" 2>&1
  stamp "B done"
fi

if [[ $STAGES == *C* ]]; then
  stamp "C start"
  S=$W/sweep; mkdir -p "$S"
  # one split for every configuration and the view cache at both sizes, made before they start side by side
  $PY -c "from pathlib import Path; from src.utilities import config as C; from src.data.check import load_checked
from src.data.folds import load_or_make, stratify_labels; from src.training.cross_validation import build_cache
cfg = C.load_config(); s = load_checked('$W/real/train_set', cfg, 'train')
load_or_make(Path('$S/folds.csv'), s.ids, stratify_labels(s, cfg), 5, 42)
for size in (384, 512): build_cache(s, C.resolved(cfg, {'preprocess.img_size': size}), Path('$W/cache'), 16)"
  # the held-out set is the test_set generated with the training data (same seed, never trained on)
  mkdir -p "$S/heldout" && ln -sfn "$W/real" "$S/heldout/heldout_seed11"
  names=(); pids=()
  # the default recipe and one change each (SWEEP: "key=v1,v2;key=v"); folds in order until C_SECONDS pass
  for change in base ${SWEEP//;/ }; do
    key=${change%%=*}; vals=${change#*=}
    [ "$change" = base ] && vals=default
    for v in ${vals//,/ }; do
      name=${key}-${v}; [ "$change" = base ] && name=base
      opts=(); [ "$change" = base ] || opts=(--"$key" "$v")
      mkdir -p "$S/$name"; cp "$S/folds.csv" "$S/$name/folds.csv"; names+=("$name")
      ( for k in $FOLDS; do
          $PY train.py --data_dir "$W/real/train_set" --fold $k --weights_dir "$S/$name" --epochs "$EPOCHS" \
            --num_workers "$C_WORKERS" --cache_dir "$W/cache" --device cuda --resume $C_OPTS "${opts[@]}" || exit 1
        done ) > "$S/$name.log" 2>&1 &
      pids+=($!)
    done
  done
  # stop what is still training when the time is up; score every configuration on its finished folds
  ( sleep "$C_SECONDS"; for p in "${pids[@]}"; do pkill -INT -P "$p" 2>/dev/null; done ) &
  wait "${pids[@]}"
  stamp "C trained"
  for name in "${names[@]}"; do
    d=$S/$name; out=$d/heldout_output.csv
    ls "$d"/fold_*/best.pt > /dev/null 2>&1 || continue
    ( $PY test.py --data_dir "$W/real/test_set" --weights_dir "$d" --out "$out" --device cuda --location_probs \
        --num_workers 4 > "$d/test.log" 2>&1 && $PY evaluate.py --pred "$out" --gt "$W/real/groundtruth.csv" \
        --n_boot 0 --json "$R/heldout_$name.json" > "$R/heldout_$name.txt" 2>&1 ) &
  done
  wait
  for name in "${names[@]}"; do
    d=$S/$name
    [ -f "$d/cv_summary.json" ] && cp "$d/cv_summary.json" "$R/cv_$name.json"
    for f in "$d"/fold_*/metrics.csv; do
      [ -f "$f" ] && cp "$f" "$R/metrics_${name}_$(basename "$(dirname "$f")").csv"
    done
    tail -n 30 "$S/$name.log" > "$R/log_$name.txt"
  done
  stamp "C done"
fi
