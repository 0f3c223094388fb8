#!/usr/bin/env bash
# The wheel works away from the repository: build it, install it into a fresh venv (torch pinned first, as the
# Makefile does, then the wheel under constraints.txt), and from a folder outside the repository run
# `lmkbench tasks`, a small offline `lmkbench run --task bbc_retrieval` (MiniLM, 128 tokens) and `lmkbench report`.
#
#   bash ci/wheel_check.sh            # needs a registry (PyPI) for the fresh venv; prints the seconds each step took
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
PY="${PYTHON:-python3}"
BUILD_PY="${VENV:-.venv}/bin/python"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
work="$(mktemp -d "${TMPDIR:-/tmp}/lmkbench-wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT
t0=$SECONDS; last=$t0
step() { echo "wheel check: $1 ($((SECONDS - last)) s)"; last=$SECONDS; }

"$BUILD_PY" -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" . >/dev/null
wheel="$(ls "$work"/dist/lmkbench-*.whl)"
step "built $(basename "$wheel")"
"$PY" -m venv "$work/venv"
"$work/venv/bin/pip" install -q torch==2.13.0
"$work/venv/bin/pip" install -q -c constraints.txt "$wheel"
step "installed into a fresh venv"

mkdir "$work/outside" && cd "$work/outside"
bin="$work/venv/bin"
where="$("$bin/python" -c 'import lmkbench, os; print(os.path.dirname(lmkbench.__file__))')"
case "$where" in "$repo"*) echo "wheel check: lmkbench imported from the repository ($where)"; exit 1;; esac
"$bin/lmkbench" tasks > tasks.txt
grep -q "^bbc_retrieval " tasks.txt || { echo "wheel check: 'lmkbench tasks' lists no bbc_retrieval"; cat tasks.txt; exit 1; }
"$bin/lmkbench" tasks --suite default --no-measure > /dev/null
step "lmkbench tasks lists the packaged catalogue ($(grep -c . tasks.txt) lines)"
"$bin/lmkbench" run --model minilm --pooling cls,mean,lmk --task bbc_retrieval --max-length 128 --device cpu \
  --no-cache --quiet --out results
test -f results/bbc_retrieval/minilm_128/mean.json   # label minilm~128: the length asked for
step "lmkbench run --task bbc_retrieval"
"$bin/lmkbench" report results -o report.html --baseline mean > /dev/null
test -s report.html
step "lmkbench report"
echo "wheel check: passed in $((SECONDS - t0)) s"
