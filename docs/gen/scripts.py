"""Usage text of shell scripts: their leading comment block, as the script itself says it."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def header_comment(path: str) -> str:
    """The ``#`` lines after the shebang, up to the first line of code, without the ``# `` prefix."""
    lines = []
    for line in (ROOT / path).read_text().splitlines()[1:]:
        if not line.startswith("#"):
            break
        lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines).strip() + "\n"


def gpu_check() -> str:
    return "```text\n" + header_comment("benchmarks/gpu_check.sh") + "```\n"
