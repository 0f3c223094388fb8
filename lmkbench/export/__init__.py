"""Export lmkbench results into other tools' formats: one small registered class per format.

``lmkbench export RESULTS --format NAME -o DIR`` (or :func:`export`) reads the result files under RESULTS
(:func:`lmkbench.results.load_results`) and writes them in the layout the other tool reads:

* ``mteb`` (:mod:`.mteb`): mteb's results layout, loadable with ``mteb.TaskResult.from_disk`` and
  ``mteb.cache.ResultCache``;
* ``ranx`` (:mod:`.ranx`): ranx ``Run`` / ``Qrels`` files (TREC format) per cell, for ``ranx.compare``,
  PyTerrier or trec_eval.

Add a format by subclassing :class:`Exporter` and decorating it with :func:`register_exporter`.
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar

from ..errors import LmkbenchError
from ..io import WriteError
from ..specs import Registry

if TYPE_CHECKING:  # pragma: no cover
    from ..results import ResultRecord

EXPORTERS: Registry = Registry("export format", modules=("lmkbench.export.mteb", "lmkbench.export.ranx"))


@dataclass
class ExportReport:
    """What an export wrote (``files``) and what it left out, with the reason (``skipped``)."""

    format: str
    out: Path
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"wrote {len(self.files)} file(s) in {self.format} format under {self.out}"]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  skipped: {s}" for s in self.skipped]
        return "\n".join(lines)


class Exporter:
    """Base class: ``write(records, out, report)`` writes one format."""

    name: ClassVar[str] = ""
    needs: ClassVar[str] = ""        # the package the format needs: its absence is one error before any work

    def __init__(self, **options):
        self.options = options

    def write(self, records: list[ResultRecord], out: Path, report: ExportReport) -> None:
        raise NotImplementedError


def register_exporter(cls):
    EXPORTERS.register(cls.name, help=(cls.__doc__ or "").strip().split("\n")[0])(cls)
    return cls


def export(results, fmt: str, out, **options) -> ExportReport:
    """Export every result under ``results`` (a folder, or a list of result records) as ``fmt`` into ``out``."""
    from ..results import load_results

    cls = EXPORTERS.entry(fmt).obj
    if cls.needs and importlib.util.find_spec(cls.needs) is None:
        raise LmkbenchError(f"--format {fmt} needs {cls.needs} (pip install 'lmkbench[eval]')")
    records = load_results(results)
    out = Path(out)
    report = ExportReport(format=fmt, out=out)
    try:
        exporter = cls(**options)
    except TypeError as exc:
        raise LmkbenchError(f"export format {fmt!r}: {exc}") from None
    exporter.write(records, out, report)
    return report


def atomic_via(path: Path, writer: Callable[[str], None]) -> Path:
    """Let a library write ``path`` (``writer(tmp_path)``) through a temporary file, then rename it into place."""
    path, tmp = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
        os.close(fd)
        writer(tmp)
        os.replace(tmp, path)
    except OSError as exc:   # disk full, a folder in the way: one clear error, as io.atomic_write_bytes
        raise exc if isinstance(exc, WriteError) else WriteError(path, exc) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path
