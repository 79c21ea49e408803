#!/usr/bin/env bash
# The Table 1 / Table 2 direction checks of Joint-DetNAS on FMNIST-Det (docs/results/search-joint-fmnist.md),
# from a finished `detforge search joint` run (its base/ and etp/ directories):
#   Table 1: ETP subnets sampled with BN recalibration vs the same architectures trained standalone
#            for the pool's iterations and for its compute (subnet passes), same data, recipe and
#            dynamic resolution;
#   Table 2: channel pruning (network slimming) of the BN-sparsity-trained base: 10% / 30% of the
#            block channels (per block and global ranking), without and with a fine-tune of a quarter
#            of the base's iterations.
# Usage: [TABLES="1 2"] scripts/search_tables.sh RUN_DIR [BUILD_DIR]   (prints the tables; work under RUN_DIR/tables)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$1
df=${2:-build}/detforge
W=$RUN/tables
TABLES=${TABLES:-1 2}   # which tables to make, e.g. TABLES=2
mkdir -p "$W"
ap() {  # ap CONFIG WEIGHTS -> "AP AP50" on the full val split at the config's test_size
  "$df" eval --config "$1" --weights "$2" --json "$W/m.json" > /dev/null
  python3 -c "import json; e=json.load(open('$W/m.json')); e=e.get('eval', e); print('%.4f %.4f' % (e['AP'], e['AP50']))"
}
if [[ " $TABLES " == *" 1 "* ]]; then
iters=$(python3 -c "import json; print(json.load(open('$RUN/etp/config.json'))['train']['iterations'])")
# The pool's compute in subnet forward+backward passes: phase 0 trains the largest net alone, every
# later iteration trains the largest plus the sampled subnets (sandwich: the smallest too).
passes=$(python3 -c "
import json, sys; c = json.load(open('$RUN/etp/config.json')); e = c.get('etp', {}); n = c['train']['iterations']
s = e.get('sampler', {})  # defaults as nas/sampler.h: sandwich, num_random 2
per = 1 + s.get('num_random', 2) + (1 if s.get('kind', 'sandwich') == 'sandwich' else 0)
if e.get('shrinking', 'ips') == 'none': print(n * per); sys.exit()
if not e.get('phase_iters'): sys.exit('search_tables.sh: etp.phase_iters must be explicit to count the pool passes')
print(e['phase_iters'][0] + (n - e['phase_iters'][0]) * per)")
echo "## Table 1: ETP subnet (BN recalibrated) vs standalone: ${iters} iterations (the pool's), ${passes} (the pool's passes)"
echo "| arch | ETP AP / AP50 | standalone ${iters} its AP / AP50 | standalone ${passes} its AP / AP50 |"
echo "|---|---|---|---|"
for arch in largest smallest; do
  t=$W/etp_$arch
  [[ -f $t/model.safetensors ]] || "$df" etp sample --config "$RUN/etp/config.json" --arch $arch --out "$t" > /dev/null
  for n in $iters $passes; do
    a=$W/alone_${arch}_$n
    [[ -f $a/model.safetensors ]] || "$df" train --config "$t/config.json" --out "$a" --set train.iterations=$n \
        --set train.checkpoint_every=0 --set train.eval_every=0 > "$a.log"
  done
  echo "| $arch $(tr -d ' \n' < "$t/arch.json") | $(ap "$t/config.json" "$t/model.safetensors" | sed 's| | / |') | $(ap "$t/config.json" "$W/alone_${arch}_$iters/model.safetensors" | sed 's| | / |') | $(ap "$t/config.json" "$W/alone_${arch}_$passes/model.safetensors" | sed 's| | / |') |"
done
echo
fi
[[ " $TABLES " == *" 2 "* ]] || exit 0
echo "## Table 2: channel pruning of the base (BN sparsity during training), then a fine-tune"
base_cfg=$RUN/base/config.json
# Fine-tune for a quarter of the base's iterations, the paper's ratio (12 epochs, 3 to fine-tune).
ft_iters=$(python3 -c "import json; print(json.load(open('$base_cfg'))['train']['iterations'] // 4)")
ft() {  # ft NAME CONFIG WEIGHTS: ft_iters iterations at lr 0.005 cosine from WEIGHTS
  [[ -f $W/ft_$1/model.safetensors ]] || "$df" train --config "$2" --out "$W/ft_$1" --set train.iterations=$ft_iters \
      --set train.init_weights="$3" --set optim.lr=0.005 --set optim.warmup_iters=0 \
      --set train.checkpoint_every=0 --set train.eval_every=0 > "$W/ft_$1.log"
  ap "$2" "$W/ft_$1/model.safetensors" | cut -d' ' -f1
}
echo "| pruned | ranking | params | backbone+FPN MACs | AP | AP50 | AP after ${ft_iters}-iteration fine-tune | vs the fine-tuned 0% |"
echo "|---|---|---|---|---|---|---|---|"
ctl=$(ft q0 "$base_cfg" "$RUN/base/model.safetensors")
echo "| 0% | | $(python3 -c "import json; r=json.load(open('$RUN/summary.json'))['rows'][0]; print(r['params'], '|', r['macs'])") | $(ap "$base_cfg" "$RUN/base/model.safetensors" | sed 's/ / | /') | $ctl | |"
# per_layer: each block's channels ranked on their own (the same percent everywhere); global: one
# ranking over every block, as network slimming with one threshold.
for rp in per_layer:0.1 per_layer:0.2 per_layer:0.3 global:0.3; do
  r=${rp%%:*}; p=${rp##*:}
  m=$W/prune_${r}_$p
  pl=$([[ $r == per_layer ]] && echo true || echo false)
  [[ -f $m/model.safetensors ]] || "$df" search morph --config "$base_cfg" --weights "$RUN/base/model.safetensors" \
    --action "{\"type\": \"channel_prune\", \"percent\": $p, \"per_layer\": $pl}" --out "$m" > /dev/null
  read -r pa ma < <(python3 -c "import json; m=json.load(open('$m/morph.json')); print(m['params_after'], m['macs_after'])")
  a=$(ft "q_${r}_$p" "$m/config.json" "$m/model.safetensors")
  echo "| $(python3 -c "print(int($p*100))")% | $r | $pa | $ma | $(ap "$m/config.json" "$m/model.safetensors" | sed 's/ / | /') | $a | $(python3 -c "print('%+.2f points' % (100 * ($a - $ctl)))") |"
done
