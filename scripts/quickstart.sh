#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, composes the embedded dataset
# (FMNIST-Det, docs/data.md) and trains + evaluates the two-stage FPN detector on it
# (configs/det_fmnist_faster_rcnn.json), printing the 12 COCO numbers of the val split.
# Until the Joint-DetNAS search lands (docs/DECISIONS.md, D6) this is the main job.
#
# Environment (all optional):
#   ITERS=N        train N iterations instead of the config's (e.g. ITERS=300 for a look in ~5 min;
#                  the lr schedule is stretched over N). Default: the full recipe (~30 min, 2 cores)
#   DATA=DIR       dataset directory (default datasets/fmnist-det; composed when missing)
#   OUT=DIR        run directory (default runs/quickstart-faster_rcnn)
#   BUILD_DIR=DIR  build directory (default build); DETFORGE_CUDA, CUDA_ARCHS as for CMake
#   DEVICE=cuda    train and evaluate on the GPU
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DDETFORGE_CUDA="${DETFORGE_CUDA:-AUTO}" -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}"
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target detforge_cli
df="$BUILD_DIR/detforge"

DATA=${DATA:-datasets/fmnist-det}
OUT=${OUT:-runs/quickstart-faster_rcnn}
CONFIG=configs/det_fmnist_faster_rcnn.json
if [[ ! -f "$DATA/annotations/instances_train.json" || ! -f "$DATA/annotations/instances_val.json" ]]; then
  echo "== composing FMNIST-Det in $DATA (12,000 train + 2,000 val images)"
  "$df" data fmnist-det --out "$DATA"
fi

sets=(--set "data.root=$DATA" --set train.eval_every=0)
if [[ -n "${ITERS:-}" ]]; then sets+=(--set "train.iterations=$ITERS"); fi
if [[ -n "${DEVICE:-}" ]]; then sets+=(--set "train.device=$DEVICE"); fi
echo "== training $CONFIG -> $OUT"
"$df" train --config "$CONFIG" --out "$OUT" "${sets[@]}"
echo "== evaluating on the val split"
"$df" eval --config "$CONFIG" "${sets[@]}" --weights "$OUT/model.safetensors" \
  --out "$OUT/dt_val.json" --json "$OUT/val_metrics.json"
echo "== loss curve: $OUT/loss.png; metrics: $OUT/val_metrics.json"
