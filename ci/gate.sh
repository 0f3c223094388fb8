#!/usr/bin/env bash
# CI regression gate: run the fixed offline suite (MiniLM; cls, mean, lmk; BBC headline -> body retrieval,
# 150 articles, see ci/gate_suite.py) on CPU and compare it with the committed baseline. Exit 0 = pass,
# 1 = a significant regression (Holm-corrected paired test AND worse by >= min-delta), 2 = unusable input.
#
#   bash ci/gate.sh                      # check (extra arguments go to `lmkbench check`, e.g. --test wilcoxon)
#   bash ci/gate.sh --update             # rebuild the baseline after an intended change; commit the file
#
# --update refuses (exit 2) a tree with uncommitted code (`lmkbench provenance --require-clean`): commit the change
# first, so that the baseline's git_commit names it (ALLOW_DIRTY=1: rebuild anyway, the diff's digest recorded).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
BASELINE="${GATE_BASELINE:-results/baselines/gate-minilm.json}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [ "${1:-}" = "--update" ]; then
  PROV=(--require-clean); [ "${ALLOW_DIRTY:-}" = 1 ] && PROV+=(--allow-dirty)
  "$BIN/lmkbench" provenance "${PROV[@]}"
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/lmkbench-gate.XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$BIN/python" ci/gate_suite.py "$work/bbc_gate" >/dev/null
# --no-cache: the gate must compute, not read embeddings a previous run left behind. No --max-length: MiniLM's own
# 256 tokens, filed under the label `minilm` the baseline holds (an explicit length would be `minilm~256`); the
# length used is recorded in every cell and compared with the baseline's by `check`.
"$BIN/lmkbench" run --model minilm --pooling cls,mean,lmk --task "beir:$work/bbc_gate" \
  --device cpu --no-cache --quiet --out "$work/results"

if [ "${1:-}" = "--update" ]; then
  "$BIN/lmkbench" baseline "$work/results" -o "$BASELINE"
  exit 0
fi
exec "$BIN/lmkbench" check "$work/results" --baseline "$BASELINE" "$@"
