"""The committed benchmark results (``results/benchmarks/*.json``), each with the machine it was taken on."""
from __future__ import annotations

import json
from pathlib import Path

from .md import cell, code, table

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "results" / "benchmarks"


def files() -> list[Path]:
    return sorted(FOLDER.glob("*.json"))


def _value(v, unit) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        v = f"{v:,.5g}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v} {unit or ''}".strip()


def _machine(m: dict) -> str:
    gpu = m.get("gpu") or m.get("gpu_name")
    parts = [f"{m.get('cpu_model', '?')}, {m.get('cpu_count', '?')} cores (torch threads {m.get('torch_threads', '?')})",
             f"{m.get('memory_gib', '?')} GiB RAM", f"device `{m.get('device', '?')}`"]
    if "amx" in m:
        parts.append("AMX" if m["amx"] else "no AMX" + (" (AVX-512 BF16)" if m.get("avx512_bf16") else ""))
    if gpu:
        parts.append(f"GPU {gpu if isinstance(gpu, str) else json.dumps(gpu)}")
    versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())
    return "; ".join(parts) + (f"; {versions}" if versions else "") + f"; commit `{m.get('git_commit', '?')}`"


def _total(seconds) -> str:
    total = seconds.get("total") if isinstance(seconds, dict) else seconds
    return f"{total:.0f} s" if isinstance(total, (int, float)) else "time not recorded"


def render_one(path: Path) -> str:
    d = json.loads(path.read_text())
    rows = []
    for f in d.get("figures", []):
        ratio = f.get("ratio")
        met = {True: "met", False: "**missed**"}.get(f.get("met"), "")
        rows.append([code(f.get("name")), _value(f.get("value"), f.get("unit")),
                     f"{ratio:.3g}×" if isinstance(ratio, (int, float)) else "-", cell(f.get("target")), met,
                     cell(f.get("versus"))])
    head = [f"### `{path.name}`\n",
            f"- **machine:** {_machine(d.get('machine') or {})}",
            f"- **taken:** {d.get('created', '?')}, mode `{d.get('mode', '?')}`, {_total(d.get('seconds'))}; "
            f"load average before {d.get('load_average_before')}, after {d.get('load_average_after')}",
            f"- **command:** `{d.get('command', '?')}`"]
    if d.get("note"):
        head.append(f"- **note:** {cell(d['note'])}")
    return "\n".join(head) + "\n\n" + table(["figure", "value", "ratio", "target", "verdict", "versus"], rows)


def render() -> str:
    found = files()
    if not found:
        return "No benchmark results are committed under `results/benchmarks/`.\n"
    return "\n".join(render_one(p) for p in found)
