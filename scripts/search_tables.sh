#!/usr/bin/env bash
# The Table 1 / Table 2 direction checks of Joint-DetNAS on FMNIST-Det (docs/results/search-joint-fmnist.md),
# from a finished `detforge search joint` run (its base/ and etp/ directories):
#   Table 1: ETP subnets sampled with BN recalibration vs the same architectures trained standalone
#            for the pool's iteration budget (same data, recipe and dynamic resolution);
#   Table 2: channel pruning (network slimming) of the BN-sparsity-trained base: 10% / 30% of the
#            block channels, without and with a short fine-tune.
# Usage: scripts/search_tables.sh RUN_DIR [BUILD_DIR]     (prints the tables; work under RUN_DIR/tables)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$1
df=${2:-build}/detforge
W=$RUN/tables
mkdir -p "$W"
ap() {  # ap CONFIG WEIGHTS -> "AP AP50" on the full val split at the config's test_size
  "$df" eval --config "$1" --weights "$2" --json "$W/m.json" > /dev/null
  python3 -c "import json; e=json.load(open('$W/m.json')); e=e.get('eval', e); print('%.4f %.4f' % (e['AP'], e['AP50']))"
}
iters=$(python3 -c "import json; print(json.load(open('$RUN/etp/config.json'))['train']['iterations'])")
echo "## Table 1: ETP subnet (BN recalibrated) vs standalone, ${iters} iterations each"
echo "| arch | ETP AP | ETP AP50 | standalone AP | standalone AP50 |"
for arch in largest smallest; do
  t=$W/etp_$arch
  [[ -f $t/model.safetensors ]] || "$df" etp sample --config "$RUN/etp/config.json" --arch $arch --out "$t" > /dev/null
  [[ -f $W/alone_$arch/model.safetensors ]] || "$df" train --config "$t/config.json" --out "$W/alone_$arch" \
      --set train.checkpoint_every=0 --set train.eval_every=0 > "$W/alone_$arch.log"
  echo "| $arch $(cat "$t/arch.json" | tr -d ' \n') | $(ap "$t/config.json" "$t/model.safetensors" | sed 's/ / | /') | $(ap "$t/config.json" "$W/alone_$arch/model.safetensors" | sed 's/ / | /') |"
done
echo
echo "## Table 2: channel pruning of the base (BN sparsity 1e-5 during training)"
echo "| pruned | params | backbone+FPN MACs | AP | AP50 | AP after 200-iteration fine-tune |"
base_cfg=$RUN/base/config.json
ft() {  # ft NAME CONFIG WEIGHTS: 200 iterations at lr 0.005 cosine from WEIGHTS
  [[ -f $W/ft_$1/model.safetensors ]] || "$df" train --config "$2" --out "$W/ft_$1" --set train.iterations=200 \
      --set train.init_weights="$3" --set optim.lr=0.005 --set optim.warmup_iters=0 \
      --set train.checkpoint_every=0 --set train.eval_every=0 > "$W/ft_$1.log"
  ap "$2" "$W/ft_$1/model.safetensors" | cut -d' ' -f1
}
echo "| 0% | $(python3 -c "import json; r=json.load(open('$RUN/summary.json'))['rows'][0]; print(r['params'], '|', r['macs'])") | $(ap "$base_cfg" "$RUN/base/model.safetensors" | sed 's/ / | /') | $(ft p0 "$base_cfg" "$RUN/base/model.safetensors") |"
for p in 0.1 0.3; do
  m=$W/prune_$p
  "$df" search morph --config "$base_cfg" --weights "$RUN/base/model.safetensors" \
    --action "{\"type\": \"channel_prune\", \"percent\": $p}" --out "$m" > /dev/null
  read -r pa ma < <(python3 -c "import json; m=json.load(open('$m/morph.json')); print(m['params_after'], m['macs_after'])")
  echo "| $(python3 -c "print(int($p*100))")% | $pa | $ma | $(ap "$m/config.json" "$m/model.safetensors" | sed 's/ / | /') | $(ft p$p "$m/config.json" "$m/model.safetensors") |"
done
