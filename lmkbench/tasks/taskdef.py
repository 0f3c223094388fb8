"""A resolved task: what the runner needs to load one dataset and evaluate it.

A task is data (a loader with parameters), a kind (which evaluator scores it), a leaderboard group and
provenance (source, license, pinned checksums). Loading goes through :meth:`TaskDef.load`, which checks
that the data is there and unchanged *before* parsing it, so a missing or edited file fails with one
clear message instead of a confusing parse error (or, worse, silently different numbers).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import LmkbenchError

KINDS = ("retrieval", "classification", "clustering")
GROUPS = ("short-retrieval", "long-retrieval", "synthetic", "clustering", "classification")


@dataclass
class TaskDef:
    """A resolved task: a name, a kind (retrieval|classification|clustering) and how to load its data.

    ``source_loader`` is the configured :class:`~lmkbench.tasks.loaders.Loader` that reads the data
    (``params`` are its checked parameters). Tasks from the catalogue also carry the task file they come
    from, pinned ``sha256`` per source file, an optional ``subset`` and the declared ``size``.
    """

    name: str
    kind: str
    source_loader: Any                   # a tasks.loaders.Loader
    params: dict[str, Any] = field(default_factory=dict)
    evaluator_options: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    license: str = ""
    group: str = ""            # leaderboard column group: short/long retrieval, synthetic, clustering, classification
    needs_tokenizer: bool = False
    loader_name: str = ""
    file: str | None = None    # the task file that defines it (None: an ad-hoc spec such as beir:PATH)
    sha256: dict[str, str] = field(default_factory=dict)
    subset: dict[str, Any] | None = None
    main_metric: str | None = None
    description: str = ""
    size: dict[str, Any] = field(default_factory=dict)   # declared counts, shown when the data is absent
    mteb: dict[str, Any] | None = None   # the same evaluation in mteb: {task, split, hf_subset} (for export)

    def availability(self) -> tuple[str, str]:
        """``("yes", "")``, ``("no", why)`` or ``("network", what it would fetch)``."""
        return self.source_loader.availability()

    def where(self) -> str:
        return f" (task file {self.file})" if self.file else ""

    def check(self) -> dict[str, str]:
        """Raise a clear error when the data is absent or differs from the pinned checksums.

        Returns the verified ``{key: sha256}`` (empty when nothing is pinned or checks are switched off).
        """
        status, why = self.availability()
        if status == "no":
            raise LmkbenchError(f"task {self.name}: data not available: {why}{self.where()}")
        from .checksums import verify_task

        return verify_task(self)

    def load(self, tokenizer=None):
        """The task's data, after :meth:`check`: subset applied, named as the task, its main metric set."""
        verified = self.check()
        data = self.source_loader.load(tokenizer=tokenizer) if self.needs_tokenizer else self.source_loader.load()
        if self.subset:
            from .subset import apply_subset

            data = apply_subset(data, self.subset, where=f"task {self.name}{self.where()}")
        data.name = self.name
        if self.main_metric:
            data.main_metric = self.main_metric
        data.info["checksums_verified"] = sorted(verified) if verified else False
        return data

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly description (for ``lmkbench tasks --json``)."""
        return {"name": self.name, "kind": self.kind, "group": self.group, "loader": self.loader_name,
                "params": {k: (str(v) if not isinstance(v, (int, float, bool, list, dict, type(None))) else v)
                           for k, v in self.params.items()},
                "evaluator": self.evaluator_options, "subset": self.subset, "main_metric": self.main_metric,
                "source": self.source, "license": self.license, "sha256": self.sha256, "file": self.file,
                "description": self.description, "needs_tokenizer": self.needs_tokenizer,
                "declared_size": self.size, "mteb": self.mteb}
