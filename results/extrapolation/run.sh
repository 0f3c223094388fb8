#!/usr/bin/env bash
# The paper's protocol on this machine (issue 21): MiniLM fine-tuned once per pooling at 128 tokens on
# unsupervised crops of SQuALITY stories (no document shared with the evaluation tasks; train-matched checks),
# three seeds, evaluated natively at 512 tokens and extended to 4,096 with position interpolation (pi).
#   bash results/extrapolation/run.sh [train|native|extended|base|publish|all]   (EXP=folder for models and results)
# `base` evaluates the untrained starting point (all-MiniLM-L6-v2, mean-trained) with each pooling, same settings.
# `longer` trains the same arms 3x longer (900 steps, seed 0 only) and evaluates them the same way: does the gap
# to the mean arm, which starts at its own objective, shrink with training? (published under steps-900/)
# The model weights stay in $EXP; `publish` copies the matched results, matched.json and the logs here and
# writes compare.txt, comparison.json and report.html. It first refuses (exit 2, copying nothing) a tree with
# uncommitted code and results that record a dirty tree (`lmkbench provenance`; ALLOW_DIRTY=1 publishes them,
# the diff digests recorded); the commits the results record go to logs/provenance.json.
# dtype: the faster of fp32 and bf16 on the CPU this runs on (bf16 is slower on some CPUs without AMX: see
# docs/manual/benchmarks.md), measured once on MiniLM's forward and recorded in $EXP/dtype.txt (published with
# the logs); DTYPE=fp32|bf16 forces one. The committed results were made with bf16.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXP=${EXP:-../extrapolation-run}
mkdir -p "$EXP"
if [[ -z ${DTYPE:-} && -f $EXP/dtype.txt ]]; then DTYPE=$(sed -n 's/^dtype=//p' "$EXP/dtype.txt"); fi
if [[ -z ${DTYPE:-} ]]; then
  .venv/bin/python - "$EXP/dtype.txt" <<'PY'
import sys
from lmkbench.devices import bf16_speedup, cpu_bf16_check, cpu_supports_bf16
from lmkbench.models import load_model
check = cpu_bf16_check()
gain = bf16_speedup(load_model("minilm", device="cpu").model, rows=16, width=128, reps=5) if cpu_supports_bf16() else 0.0
dtype = "bf16" if gain >= 1.05 else "fp32"
line = (f"dtype={dtype}\nbf16_speedup={gain:.2f}\ncpu={check['cpu']}\namx={check['amx']}\n"
        "how=fp32 time / bf16 time of MiniLM's forward, 16 x 128 tokens, 5 runs each after a warm-up (lmkbench.devices.bf16_speedup)\n")
open(sys.argv[1], "w").write(line)
PY
  DTYPE=$(sed -n 's/^dtype=//p' "$EXP/dtype.txt")
fi
echo "dtype $DTYPE ($(tr '\n' ' ' < "$EXP/dtype.txt" 2>/dev/null || echo forced))"
DEST=results/extrapolation
DATA="crop:../shared/data/squality_longdoc?ratio_min=0.003&ratio_max=0.02&min_words=16&max_words=96&per_doc=32&seed=0"
TRAIN=(--model minilm --poolings "cls,mean,lmk:train_g=32+64+128+256" --data "$DATA" --out "$EXP"
       --seeds 0,1,2 --steps 300 --batch-size 16 --lr 3e-5 --doc-max-length 128 --query-max-length 32
       --dtype "$DTYPE" --device cpu --quiet)
LONG=(); for n in 256 512 1024 2048 4096; do LONG+=(--eval-task passkey_$n --eval-task needle_$n); done
LONG+=(--eval-task qmsum_testsplit)
SHORT=(--eval-task scifact --eval-task bbc_retrieval --eval-task bbc_classification --eval-task bbc_clustering)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
LMK=".venv/bin/lmkbench"
step() { echo "== $1 $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"; }
timed() { local name=$1; shift; /usr/bin/time -v "$@" 2> >(tee "$EXP/$name.time" >&2) | tee "$EXP/$name.log"; }
stage=${1:-all}
if [[ $stage == train || $stage == all ]]; then
  step train; timed train "$LMK" train-matched "${TRAIN[@]}"
fi
if [[ $stage == native || $stage == all ]]; then
  step native; timed native "$LMK" train-matched "${TRAIN[@]}" "${LONG[@]}" "${SHORT[@]}" --eval-max-length 512
fi
if [[ $stage == extended || $stage == all ]]; then
  step extended; timed extended "$LMK" train-matched "${TRAIN[@]}" "${LONG[@]}" --eval-max-length 4096 --positions pi
fi
if [[ $stage == base || $stage == all ]]; then
  step base
  BASE=(--model minilm --pooling cls,mean,lmk --dtype "$DTYPE" --device cpu --out "$EXP/base")
  timed base "$LMK" run "${BASE[@]}" "${LONG[@]/--eval-task/--task}" "${SHORT[@]/--eval-task/--task}" --max-length 512
  timed base-extended "$LMK" run "${BASE[@]}" "${LONG[@]/--eval-task/--task}" --max-length 4096 --positions pi
fi
LONGER=(--model minilm --poolings "cls,mean,lmk:train_g=32+64+128+256" --data "$DATA" --out "$EXP-900"
        --seed 0 --steps 900 --batch-size 16 --lr 3e-5 --doc-max-length 128 --query-max-length 32
        --dtype "$DTYPE" --device cpu --quiet)
if [[ $stage == longer || $stage == all ]]; then
  step longer; mkdir -p "$EXP-900"
  timed longer "$LMK" train-matched "${LONGER[@]}" "${LONG[@]}" "${SHORT[@]}" --eval-max-length 512
  timed longer-extended "$LMK" train-matched "${LONGER[@]}" "${LONG[@]}" --eval-max-length 4096 --positions pi
fi
if [[ $stage == publish || $stage == all ]]; then
  step publish
  PUBLISHED=("$EXP/results_matched"); [[ -d $EXP/base ]] && PUBLISHED+=("$EXP/base")
  [[ -f $EXP-900/matched.json ]] && PUBLISHED+=("$EXP-900/results_matched")
  PROV=(--require-clean); [[ ${ALLOW_DIRTY:-} == 1 ]] && PROV+=(--allow-dirty)
  "$LMK" provenance "${PROV[@]}" "${PUBLISHED[@]}" --record "$EXP/provenance.json"
  rm -rf "$DEST/results_matched" "$DEST/logs"; mkdir -p "$DEST/logs"
  cp "$EXP/provenance.json" "$DEST/logs/"
  cp -r "$EXP/results_matched" "$EXP/matched.json" "$DEST/"
  if [[ -d $EXP/base ]]; then
    rm -rf "$DEST/base"; cp -r "$EXP/base" "$DEST/base"
    "$LMK" compare "$DEST/base" --baseline mean --settings 512 --out "$DEST/base/compare.txt" | grep -v "^wrote" > "$DEST/base/summary.txt"
  fi
  if [[ -f $EXP-900/matched.json ]]; then
    rm -rf "$DEST/steps-900"; mkdir -p "$DEST/steps-900"
    cp -r "$EXP-900/results_matched" "$EXP-900/matched.json" "$DEST/steps-900/"
    "$LMK" compare "$DEST/steps-900/results_matched" --baseline mean --settings 512 --out "$DEST/steps-900/compare.txt" \
      --json "$DEST/steps-900/comparison.json" | grep -v "^wrote" > "$DEST/steps-900/summary.txt"
  fi
  [[ -f $EXP/dtype.txt ]] && cp "$EXP/dtype.txt" "$DEST/logs/"
  for f in train native extended base base-extended longer longer-extended; do
    [[ -f $EXP/$f.log ]] && cp "$EXP/$f.log" "$DEST/logs/"
    [[ -f $EXP/$f.time ]] && grep -E "Elapsed|Maximum resident|User time|System time" "$EXP/$f.time" > "$DEST/logs/$f.time" || true
  done
  "$LMK" compare "$DEST/results_matched" --baseline mean --settings 512 --out "$DEST/compare.txt" --json "$DEST/comparison.json" \
    | grep -v "^wrote" > "$DEST/summary.txt"
  "$LMK" report "$DEST/results_matched" --baseline mean -o "$DEST/report.html" \
    --title "The paper's protocol on a CPU: MiniLM trained per pooling at 128 tokens, read at 512 and at 4,096 (pi)"
fi
step done
