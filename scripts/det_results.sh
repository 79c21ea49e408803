#!/usr/bin/env bash
# Collects a finished `detforge train` run into docs/results/det-fmnist/NAME/: the val metrics
# (the 12 COCO numbers, re-evaluated from the final weights), the loss curve, a grid of val images
# with ground truth and predictions, the config, and a summary of the training log.
#   scripts/det_results.sh NAME RUN_DIR [BUILD_DIR]
# The run's config.json (with its data.root) is used for evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 run=$2 build=${3:-build}
df="$build/detforge"
dst=docs/results/det-fmnist/$name
mkdir -p "$dst"
cfg="$run/config.json"
root=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"].get("root", "."))' "$cfg")

"$df" eval --config "$cfg" --weights "$run/model.safetensors" --out "$run/dt_val.json" \
  --json "$dst/val_metrics.json"
"$df" visualize --images "$root/val" --gt "$root/annotations/instances_val.json" \
  --dt "$run/dt_val.json" --score-thresh 0.4 --grid 3x4 --out "$run/vis"
cp "$run/vis/grid.png" "$dst/examples.png"
cp "$run/loss.png" "$dst/loss.png"
cp "$cfg" "$dst/config.json"
# Iterations, summed step time (forward + backward + optimizer step), evaluations during training.
python3 - "$run/log.jsonl" "$dst/train_summary.json" <<'EOF'
import json, sys
iters, step_s, evals = 0, 0.0, []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "eval" in r:
        evals.append({"iter": r["iter"], "AP": r["eval"]["AP"], "AP50": r["eval"]["AP50"]})
    elif "loss" in r:
        iters = max(iters, r["iter"]); step_s += r["time"]
json.dump({"iterations": iters, "step_seconds_sum": round(step_s, 1),
           "mean_step_seconds": round(step_s / max(iters, 1), 4), "evals": evals},
          open(sys.argv[2], "w"), indent=1)
print(open(sys.argv[2]).read())
EOF
