#!/usr/bin/env bash
# The paper's setting in miniature (issue 30): a small ModernBERT (RoPE, local/global attention) pretrained from
# random initialisation by MLM on ../shared/data/pretrain_text (ELTeC novels) at 512 tokens, i.e. trained for no
# pooling; then fine-tuned once per pooling at 128 tokens (train-matched, same batches, seeds 0,1,2) and read at
# its training length, at 512, and natively at 2,048, 4,096 and 8,192 tokens, and with a RoPE scaling method at
# 8,192. Stage by stage, each resumable (run the same stage again and it continues):
#   bash results/miniature/run.sh [pretrain|overlap|train|short|long|scaled|publish|all]   (EXP=folder for the runs)
# The pass criteria were written into README.md before the pretraining ran.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXP=${EXP:-../miniature-run}
DEST=results/miniature
mkdir -p "$EXP"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
LMK=".venv/bin/lmkbench"
step() { echo "== $1 $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"; }
timed() { local name=$1; shift; /usr/bin/time -v "$@" 2> >(tee "$EXP/$name.time" >&2) | tee -a "$EXP/$name.log"; }
stage=${1:-all}
PRETRAIN=(--data ../shared/data/pretrain_text/docs.jsonl.gz --out "$EXP/base" --layers 4 --hidden 256 --heads 4
          --intermediate 384 --local-window 128 --global-every 3 --max-positions 16384 --seq-len 512
          --batch-size 8 --steps 1600 --lr 1e-3 --warmup 100 --mlm-probability 0.3 --seed 0)
if [[ $stage == pretrain || $stage == all ]]; then
  step pretrain; timed pretrain "$LMK" pretrain "${PRETRAIN[@]}"
fi
step done
