#!/usr/bin/env bash
# The paper's setting in miniature (issue 30): a small ModernBERT (RoPE, local/global attention) pretrained from
# random initialisation by MLM on ../shared/data/pretrain_text (ELTeC novels) at 512 tokens, i.e. trained for no
# pooling; then fine-tuned once per pooling at 128 tokens (train-matched, same batches, seeds 0,1,2) and read at
# its training length (SciFact, BBC retrieval, passkey and needle at 256), natively at 4,096 (passkey, needle) and
# 8,192 tokens (passkey, needle, QMSum), and with a RoPE scaling method at 8,192 (ntk: passkey, needle). Every
# synthetic document is read whole (LMK's landmarks included). 2,048 was left out for CPU time (LENGTHS below).
# Stage by stage, each resumable (run the same stage again and it continues):
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
BASE="$EXP/base/modernbert-mini"
# the fine-tuning data of the MiniLM protocol (results/extrapolation): crops of the SQuALITY stories
DATA="crop:../shared/data/squality_longdoc?ratio_min=0.003&ratio_max=0.02&min_words=16&max_words=96&per_doc=32&seed=0"
# lr 1e-4 (MiniLM's protocol: 3e-5) for a 10M-parameter encoder from MLM; temperature the default 0.02. A 60-step
# pilot of the mean arm (logs/pilot.log) put lr 1e-4 and 3e-5, temperature 0.02 and 0.05 within 0.02 of each other
TRAIN=(--model "$BASE" --poolings "cls,mean,lmk:train_g=32+64+128+256" --data "$DATA" --out "$EXP/arms"
       --seeds 0,1,2 --steps 300 --batch-size 16 --lr 1e-4 --doc-max-length 128 --query-max-length 32
       --dtype fp32 --device cpu --quiet)
SHORT=(--eval-task scifact --eval-task bbc_retrieval --eval-task passkey_256 --eval-task needle_256)
LENGTHS=(4096 8192)   # 2,048 left out for CPU time (add it here to read there too)
# the max length that reads an N-token synthetic document whole with every pooling (LMK: one landmark per 32)
whole() { .venv/bin/python -c "from lmkbench.suites import read_whole_length as w; from lmkbench.tasks import resolve_tasks as r; print(w(r('passkey_$1') + r('needle_$1')))"; }
# the synthetic pair at every length; the real long task (QMSum test meetings, ~12k tokens) at the longest only
long_tasks() { echo --eval-task "passkey_$1" --eval-task "needle_$1"; [[ $1 == "${LENGTHS[-1]}" ]] && echo --eval-task qmsum_testsplit; true; }
SCALED="ntk:factor=16"   # 8,192 / 512: the rotary base stretched from the pretraining length to the longest read
if [[ $stage == pretrain || $stage == all ]]; then
  step pretrain; timed pretrain "$LMK" pretrain "${PRETRAIN[@]}"
fi
if [[ $stage == overlap || $stage == all ]]; then
  step overlap
  OV=(); for t in scifact bbc_retrieval qmsum_testsplit; do OV+=(--check-overlap "$t"); done
  for n in 256 "${LENGTHS[@]}"; do OV+=(--check-overlap "passkey_$n" --check-overlap "needle_$n"); done
  timed overlap "$LMK" pretrain "${PRETRAIN[@]}" "${OV[@]}"
fi
if [[ $stage == train || $stage == all ]]; then
  step train; timed train "$LMK" train-matched "${TRAIN[@]}"
fi
if [[ $stage == short || $stage == all ]]; then
  step short; timed short "$LMK" train-matched "${TRAIN[@]}" "${SHORT[@]}" --eval-max-length 128
fi
if [[ $stage == long || $stage == all ]]; then
  for n in "${LENGTHS[@]}"; do
    step "long $n"; timed "long-$n" "$LMK" train-matched "${TRAIN[@]}" $(long_tasks "$n") --eval-max-length "$(whole "$n")"
  done
fi
if [[ $stage == scaled || $stage == all ]]; then
  n=${LENGTHS[-1]}
  step "scaled $n"
  timed scaled "$LMK" train-matched "${TRAIN[@]}" --eval-task "passkey_$n" --eval-task "needle_$n" --eval-max-length "$(whole "$n")" --positions "$SCALED"
fi
if [[ $stage == publish || $stage == all ]]; then
  step publish
  "$LMK" provenance --require-clean "$EXP/arms/results" --record "$EXP/provenance.json" ${ALLOW_DIRTY:+--allow-dirty}
  rm -rf "$DEST/results" "$DEST/logs" "$DEST/base"; mkdir -p "$DEST/logs" "$DEST/base"
  cp -r "$EXP/arms/results" "$EXP/arms/matched.json" "$DEST/"
  cp "$EXP/base/pretrain.json" "$EXP/base/overlap.json" "$DEST/base/"
  cp "$BASE/config.json" "$BASE/lmkbench.json" "$DEST/base/"
  cp "$EXP/provenance.json" "$DEST/logs/"
  for f in pretrain pilot overlap train short long-4096 long-8192 scaled; do
    [[ -f $EXP/$f.log ]] && cp "$EXP/$f.log" "$DEST/logs/"
    [[ -f $EXP/$f.time ]] && grep -E "Elapsed|Maximum resident|User time|System time" "$EXP/$f.time" > "$DEST/logs/$f.time" || true
  done
  .venv/bin/python "$DEST/criteria.py" "$DEST"
  "$LMK" compare "$DEST/results" --baseline 'model=*,pooling=mean' --out "$DEST/compare.txt" --json "$DEST/comparison.json" \
    | grep -v "^wrote" > "$DEST/summary.txt"
  # the paper's headline contrast: LMK against CLS
  "$LMK" compare "$DEST/results" --baseline 'model=*,pooling=cls' --systems 'lmk|cls' --out "$DEST/compare-cls.txt" \
    --json "$DEST/comparison-cls.json" | grep -v "^wrote" > "$DEST/summary-cls.txt"
  "$LMK" report "$DEST/results" --baseline 'model=*,pooling=mean' -o "$DEST/report.html" \
    --title "The paper's setting in miniature: a small ModernBERT pretrained by MLM, fine-tuned per pooling at 128 tokens, read to 8,192"
fi
step done
