#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, composes the embedded dataset
# (FMNIST-Det, docs/data.md) and runs the Joint-DetNAS search end to end on it
# (configs/search_fmnist_demo.json, docs/search_joint.md): trains the base detector and the
# elastic teacher pool, hill-climbs student-teacher pairs and prints the summary table
# (base vs searched: AP, AP50, MACs, params, latency, resolution). ~17 minutes on 2 CPU cores after the build.
#
# Environment (all optional):
#   QUICK=1        a 2-minute smoke run (short base / ETP trainings, 3 candidates of 10 iterations,
#                  100 validation images): checks the pipeline, not the result
#   DATA=DIR       dataset directory (default datasets/fmnist-det; composed when missing)
#   OUT=DIR        run directory (default runs/quickstart-search; an existing search there resumes)
#   BUILD_DIR=DIR  build directory (default build); DETFORGE_CUDA, CUDA_ARCHS as for CMake
#   MAIN=detector  the previous main job instead: train + evaluate configs/det_fmnist_faster_rcnn.json
#                  (ITERS=N shortens it)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DDETFORGE_CUDA="${DETFORGE_CUDA:-AUTO}" -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}"
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target detforge_cli
df="$BUILD_DIR/detforge"

DATA=${DATA:-datasets/fmnist-det}
if [[ ! -f "$DATA/annotations/instances_train.json" || ! -f "$DATA/annotations/instances_val.json" ]]; then
  echo "== composing FMNIST-Det in $DATA (12,000 train + 2,000 val images)"
  "$df" data fmnist-det --out "$DATA"
fi

if [[ "${MAIN:-search}" == detector ]]; then
  OUT=${OUT:-runs/quickstart-faster_rcnn}
  CONFIG=configs/det_fmnist_faster_rcnn.json
  sets=(--set "data.root=$DATA" --set train.eval_every=0)
  if [[ -n "${ITERS:-}" ]]; then sets+=(--set "train.iterations=$ITERS"); fi
  echo "== training $CONFIG -> $OUT"
  "$df" train --config "$CONFIG" --out "$OUT" "${sets[@]}"
  echo "== evaluating on the val split"
  "$df" eval --config "$CONFIG" "${sets[@]}" --weights "$OUT/model.safetensors" \
    --out "$OUT/dt_val.json" --json "$OUT/val_metrics.json"
  exit 0
fi

OUT=${OUT:-runs/quickstart-search}
CONFIG=configs/search_fmnist_demo.json
sets=(--set "base.overrides.data.root=$DATA" --set "etp.overrides.data.root=$DATA")
if [[ -n "${QUICK:-}" ]]; then
  sets+=(--set base.overrides.train.iterations=60 --set etp.overrides.train.iterations=60
         --set 'etp.overrides.etp.phase_iters=[20,20,20]' --set search.iterations=3
         --set fast_eval.iterations=10 --set fast_eval.eval_images=100
         --set fast_eval.latency_repeats=3)
fi
echo "== Joint-DetNAS search $CONFIG -> $OUT"
"$df" search joint --config "$CONFIG" --out "$OUT" "${sets[@]}"
echo "== summary: $OUT/summary.md; final student: $OUT/final; plots: $OUT/*.png"
