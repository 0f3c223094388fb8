"""The Python API: the CLI's verbs as functions (``lmkbench.api.evaluate`` ≈ ``lmkbench run`` + ``compare``).

    import lmkbench
    cmp = lmkbench.api.evaluate(model="minilm", poolings=["cls", "mean", "lmk"], tasks=["bbc_retrieval"],
                                out="runs", max_length=256, device="cpu")
    print(cmp)                                    # the table `lmkbench compare` prints
    records = lmkbench.load_results("runs")       # the result files, as ResultRecords (schema lmkbench.result/1)
    lmkbench.export_results("runs", "mteb", "mteb-results")

(``lmkbench.evaluate`` is the evaluators package, :mod:`lmkbench.evaluate`.)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from .errors import LmkbenchError


def evaluate(model: str, poolings: Iterable[str] | None = None, tasks: Iterable[str] = ("suite:default",),
             out="runs", *, baseline: str = "mean", test: str | None = None, correction: str | None = None,
             progress: bool = False, log=None, **settings: Any):
    """Run ``tasks`` × ``poolings`` for ``model`` into ``out`` and return the :class:`~lmkbench.stats.compare.
    Comparison` of those cells against ``baseline`` (what ``lmkbench compare`` prints).

    ``tasks`` are specs as ``--task`` takes them (catalogue names, globs, ``suite:NAME``, ``beir:PATH``, task
    files); ``poolings`` pooling specs (None: the checkpoint's trained pooling, else cls, mean, lmk). Other
    keyword arguments are :class:`~lmkbench.settings.EncoderSettings` fields (``max_length``, ``device``,
    ``long_policy``, ``dtype``, ``cache_dir``, ...) or ``overwrite``, ``tokenizer``, ``extra_meta`` (as
    :class:`~lmkbench.runner.RunSettings` takes them). Finished cells in ``out`` are reused. ``test`` and
    ``correction`` default to the declared ones (:data:`lmkbench.stats.settings.DEFAULTS`).
    """
    from .results import load_results
    from .runner import Runner, RunSettings
    from .stats.compare import compare
    from .tasks import resolve_tasks

    if isinstance(tasks, str) or isinstance(poolings, str):
        raise LmkbenchError("evaluate(): tasks and poolings are lists, e.g. tasks=['bbc_retrieval'], poolings=['mean']")
    run_settings = RunSettings(model=model, poolings=list(poolings) if poolings else None, out_dir=Path(out),
                               progress=progress, **settings)     # an unknown setting fails before any task loads
    specs = list(tasks)
    names = {t.name for spec in specs for t in resolve_tasks(spec)}
    runner = Runner(run_settings, log=log or (lambda *a, **k: None))
    runner.run(specs)
    filed = {runner.filed[name] for name in names if name in runner.filed}   # (task folder, label) per task
    records = [r for r in load_results(out) if (r.task, r.model) in filed]
    if not records:
        raise LmkbenchError(f"no results for {runner.model_label()} under {out}")
    stats = {k: v for k, v in (("test", test), ("correction", correction)) if v is not None}
    return compare(records, baseline=baseline, **stats)
