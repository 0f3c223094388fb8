"""The results store: one JSON file per (task, model, pooling), plus a TREC run for retrieval.

Layout: ``<out>/<task>/<model-slug>/<pooling-slug>.json`` (and ``.trec`` beside it).

A result file (schema ``lmkbench.result/1``) holds::

    task, task_kind ("retrieval" | "classification" | "clustering"), split, model, pooling,
    main_metric,                 # e.g. "ndcg_at_10"; greater is better for every metric we store
    metrics: {name: value},      # averages over evaluated items
    per_query | per_item: {id: {metric: value, ..., "length": int, "truncated": bool, ...}}
    meta: {versions, device, dtype, max_length, long_policy, truncated, n_texts, timings, checksums, git, ...}

``per_query`` (retrieval) records for each query its metric values, ``length`` (tokens of the longest
relevant document in the evaluated model's tokenizer, content tokens without special tokens),
``lengths`` (all relevant documents) and ``truncated`` (whether that document was cut).
Synthetic tasks add ``target_length`` and ``depth``. ``per_item`` (classification, clustering) records
per text its outcome and ``length``. ``item_scores`` names the per-item fields that are scores (the
evaluator's metric keys); a file written before that declaration existed reads as before: every numeric
per-item field not in :data:`AUX_FIELDS` counts as one.

In Python a result is a :class:`ResultRecord` (read with :meth:`ResultRecord.read`, written with
:meth:`ResultRecord.write`, rendered as JSON by :meth:`ResultRecord.to_json`); the file is checked by one
pydantic model, :class:`ResultFile`, whose ``meta`` is a :class:`ResultMeta` (the fields lmkbench reads typed,
every other key kept as written). One reader: :meth:`ResultRecord.read` a file, :func:`iter_results` a
folder, :func:`load_results` (``lmkbench.load_results``) a folder or records for every consumer (compare,
gate, report, leaderboard, ranking, export), which take records, never raw dicts.
"""
from __future__ import annotations

import logging
import math
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterable, Iterator, Mapping, Optional

import numpy as np
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, StrictBool,
                      StrictStr, ValidationError, model_validator)

from .errors import InputError, LmkbenchError
from .configs.errors import input_error
from .data.files import read_json_file
from .io import atomic_write_json, atomic_write_text

SCHEMA = "lmkbench.result/1"

log = logging.getLogger(__name__)

#: results without ``item_scores`` (written before it existed): per-item fields that describe an item (its
#: length, cut/split, depth, ...) rather than score it; every other numeric per-item field counts as a score
AUX_FIELDS = frozenset({"length", "lengths", "truncated", "split", "target_length", "depth", "query_length",
                        "doc_tokens", "cluster", "evidence_depth", "evidence_depth_estimated"})


def json_safe(v):
    """The one NaN policy of every JSON lmkbench writes: non-finite floats become null, numpy scalars Python
    numbers, recursively through dicts, lists and tuples."""
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    return v


def result_path(out_dir, task: str, model: str, pooling: str) -> Path:
    """``OUT/<task>/<model>/<pooling>.json``, each part one safe component inside ``out_dir`` whatever it says."""
    from .io import safe_child

    return safe_child(out_dir, task, model, f"{pooling}.json")


#: the per-item table's key in a result file: ``per_query`` (retrieval) or ``per_item`` (the others)
ITEM_TABLES = ("per_query", "per_item")


class NoItemScores(InputError):
    """A result has no per-item scores for its main metric (e.g. a clustering score that exists only for
    the whole set). ``compare`` reports such a task as skipped instead of failing the whole run."""


#: per-item outcomes tried, in order, when the main metric exists only for the whole set (clustering's
#: v_measure): the evaluators write ``correct_rate`` (share of runs/experiments that got the item right)
#: and ``correct`` (0/1 outcome of run 0).
ITEM_OUTCOME_FIELDS = ("correct_rate", "correct", "acc_at_1", "hit")

_INF = "not a finite number (±inf); a value that was not computed is written as null"


def _infinite(v) -> bool:
    """±inf anywhere in a value (a JSON ``Infinity`` or ``1e999``). NaN is not: it reads as null, "not scored"
    (:func:`json_safe`), so only infinities, which would pass as scores, are refused."""
    if isinstance(v, float):
        return math.isinf(v)
    if isinstance(v, (list, tuple)):
        return any(_infinite(x) for x in v)
    if isinstance(v, Mapping):
        return any(_infinite(x) for x in v.values())
    return False


def _finite(v):
    """A per-item value or metric as written, refused when it holds ±inf (:func:`_infinite`)."""
    if _infinite(v):
        raise ValueError(_INF)
    return v


def _metric_value(v):
    """A metric: a real number (numpy's too) or null; bool and text are refused, ±inf too."""
    if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
        raise ValueError(f"expected a number or null, got {type(v).__name__}")
    return _finite(v)


class ResultMeta(BaseModel):
    """A result's ``meta``: how it was produced. The fields lmkbench reads are declared (and type-checked on
    read); any other key (``dataset_info``, ``prompts``, a user's ``extra_meta``...) is kept as written."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    model: Optional[str] = None                  # what the user asked for: alias, folder or hub name
    model_path: Optional[str] = None             # what from_pretrained was given
    model_identity: Optional[str] = None         # content hash of the folder, or name@revision (cache and reuse key)
    trained_pooling: Optional[str] = None        # the pooling the checkpoint was trained with, if known
    pooling_mismatch: Optional[bool] = None      # evaluated with another pooling than it was trained with
    device: Optional[str] = None                 # resolved device (cpu, cuda:0)
    dtype: Optional[str] = None                  # resolved numerics: fp32, or bf16/fp16 autocast
    max_length: Optional[int] = None             # tokens per model input (specials included)
    long_policy: Optional[str] = None            # truncate | windows (none for lexical systems)
    token_budget: Optional[int] = None           # rows × padded length per batch
    lmkbench_task_source: Optional[str] = None   # where the task's data came from (a report never fetches it)
    dataset_checksums: dict[str, str] = {}       # sha256 per data file: the data that produced the cell
    truncated: dict[str, int] = {}               # per text set: texts whose content was cut
    split: dict[str, int] = {}                   # per text set: texts encoded as several windows
    n_texts: dict[str, int] = {}                 # per text set: texts encoded
    timings: dict[str, Optional[float]] = {}     # seconds: load, encode per set, evaluate
    encode_stats: Optional[dict[str, Any]] = None   # per set: tokens, batches, shards reused, forward time
    text_sets: Optional[dict[str, Any]] = None   # per set: what encoded it and its cost
    evaluator: dict[str, Any] = {}               # what the evaluator reports about itself (k, cut-offs, ...)
    bm25: Optional[dict[str, Any]] = None         # a lexical system's description
    versions: dict[str, Any] = {}                # python and package versions
    hardware: dict[str, Any] = {}                # CPU / GPU the cell ran on
    git_commit: Optional[str] = None             # lmkbench's commit, where run from a clone
    matched_seed: Optional[int] = None           # train-matched --seeds: the seed this checkpoint was trained with
    created: Optional[str] = None                # when the cell was written (ISO 8601)

    _order: list[str] = PrivateAttr(default_factory=list)   # the keys in the order they were given

    @model_validator(mode="wrap")
    @classmethod
    def _keep_order(cls, data: Any, handler):
        """Remember the key order of a mapping it is read from, so that it is written back as given."""
        meta = handler(data)
        if isinstance(data, Mapping):
            meta._order = list(data)
        return meta

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "ResultMeta":
        """A meta from a mapping (checked), remembering its key order."""
        return cls.model_validate(dict(data))

    def to_json(self) -> dict[str, Any]:
        """The keys the meta holds, in the order given (declared fields first for one built field by field)."""
        out = self.model_dump(exclude_unset=True)
        order = [k for k in self._order if k in out] + [k for k in out if k not in self._order]
        return {k: out[k] for k in order}

    def has(self, key: str) -> bool:
        """Whether the file holds ``key`` (a declared field that was written, or any other key)."""
        return key in self.model_fields_set or key in (self.model_extra or {})

    def get(self, key: str, default=None):
        """The value of any key, declared or not (``default`` when the file does not hold it)."""
        return getattr(self, key) if self.has(key) else default

    def updated(self, **values) -> "ResultMeta":
        """A copy with ``values`` set (declared fields are checked; other keys are kept as given)."""
        return ResultMeta.of({**self.to_json(), **values})


_Name = Annotated[StrictStr, Field(min_length=1)]
_Items = Annotated[Optional[dict[str, dict[str, Annotated[Any, AfterValidator(_finite)]]]], Field(default=None)]


class ResultFile(BaseModel):
    """A result file's JSON object, checked (one pydantic model, as its ``meta``): every problem is one error
    naming the field. NaN or null is "not scored"; ±inf, in ``metrics`` or any per-item value, is refused: it
    would pass for a score and break means and ranks. Keys it does not declare are kept (``extra``)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    schema_: Optional[str] = Field(default=None, alias="schema")
    task: _Name
    task_kind: Optional[StrictStr] = None
    task_group: Optional[StrictStr] = None
    split: Optional[StrictStr] = None
    model: _Name
    pooling: _Name
    main_metric: _Name
    per_item_metric: Optional[StrictStr] = None
    greater_is_better: Optional[StrictBool] = None
    item_scores: Optional[list[_Name]] = None
    metrics: dict[str, Annotated[Any, AfterValidator(_metric_value)]]
    per_query: _Items
    per_item: _Items
    meta: Annotated[ResultMeta, BeforeValidator(lambda v: {} if v is None else v)] = Field(default_factory=ResultMeta)

    @property
    def table(self) -> str:
        """The per-item table's key: ``per_query`` when the file has one, else ``per_item``."""
        return ITEM_TABLES[0] if ITEM_TABLES[0] in self.model_fields_set else ITEM_TABLES[1]

    @classmethod
    def check(cls, data: Any, where) -> "ResultFile":
        """``data`` checked, or an :class:`InputError` naming ``where`` (the file) and the field."""
        if not isinstance(data, Mapping):
            raise InputError("a result must be a JSON object", file=where)
        data = dict(data)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise input_error(exc, data, file=where) from None


#: the top-level keys a record holds in its own fields (others are kept in ``extra``)
_DECLARED = frozenset(f.alias or name for name, f in ResultFile.model_fields.items())


@dataclass
class ResultRecord:
    """One result cell (task × model × pooling): its metrics, its per-item table and how it was produced."""

    task: str                                    # task name (catalogue name or an ad-hoc spec's name)
    model: str                                   # model label: the checkpoint's, ~variant for settings asked for (minilm~pi-4096)
    pooling: str                                 # canonical pooling spec (lmk:g=32), or bm25
    main_metric: str                             # the task's headline metric (ndcg_at_10, acc_at_1, accuracy, v_measure)
    metrics: dict[str, Optional[float]]          # every metric over the whole set
    task_kind: str = ""                          # retrieval | classification | clustering
    task_group: Optional[str] = None             # leaderboard group (synthetic, long-retrieval, ...)
    split: Optional[str] = None                  # the evaluated split
    items: dict[str, dict[str, Any]] = field(default_factory=dict)   # id -> {score: value, "length": ...}
    item_table: str = "per_item"                 # its key in the file: "per_query" (retrieval) or "per_item"
    per_item_metric: Optional[str] = None        # the per-item score to test, when not the main metric
    greater_is_better: Optional[bool] = None     # the main metric's direction, when the result declares it
    item_scores: Optional[list[str]] = None      # the per-item fields that are scores (None: an older file)
    meta: ResultMeta = field(default_factory=ResultMeta)
    extra: dict[str, Any] = field(default_factory=dict)   # other top-level keys, kept as written
    path: Optional[Path] = None                  # the file it was read from
    source: Optional[str] = None                 # what errors name when not from a file ("<result #3>")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.task, self.model, self.pooling)

    @property
    def where(self) -> str:
        """What an error about this record names: its file, else ``<result>``."""
        return str(self.path) if self.path is not None else (self.source or "<result>")

    @property
    def label(self) -> str:
        """``task / model / pooling``: how messages name the cell."""
        return f"{self.task} / {self.model} / {self.pooling}"

    @property
    def trec_path(self) -> Optional[Path]:
        """The TREC run written beside the result (None for a record not read from a file; it may not exist)."""
        return self.path.with_suffix(".trec") if self.path is not None else None

    @property
    def value(self) -> Optional[float]:
        """The main metric's value (None when absent or not a number)."""
        return self.metrics.get(self.main_metric)

    # ------------------------------------------------------------ per-item scores
    def score_fields(self) -> list[str]:
        """The per-item fields that are scores: those the result declares (``item_scores``) and its items
        hold; for an older file without the declaration, every numeric per-item field not in
        :data:`AUX_FIELDS`."""
        rows = list(self.items.values())
        present = {k for r in rows for k in r}
        if self.item_scores is not None:
            return [k for k in self.item_scores if k in present]
        return sorted(k for k in present - AUX_FIELDS
                      if any(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) for r in rows))

    def item_metric(self, metric: str | None = None) -> str:
        """The per-item score to test.

        In order: ``metric`` if given; the result's ``per_item_metric``; its ``main_metric``; the first of
        :data:`ITEM_OUTCOME_FIELDS` present (compare notes the substitution). A name asked for explicitly
        (``metric``, ``per_item_metric``) that is not a per-item score is an :class:`InputError`; otherwise a
        result without any of them raises :class:`NoItemScores`. Where the result declares its scores, only
        those count; an older file accepts any per-item field its items hold.
        """
        scores = self.score_fields()
        usable = set(scores) if self.item_scores is not None else {k for r in self.items.values() for k in r}
        fields = ", ".join(scores) or "none"
        for name, field_name in ((metric, self.item_table), (self.per_item_metric, "per_item_metric")):
            if name:
                if name in usable:
                    return name
                raise InputError(f"metric {name!r} is not a per-item score (per-item scores: {fields})",
                                 file=self.where, field=field_name)
        for name in (self.main_metric, *ITEM_OUTCOME_FIELDS):
            if name in usable:
                return name
        raise NoItemScores(f"main metric {self.main_metric!r} has no per-item scores (per-item scores: {fields})",
                           file=self.where, field="main_metric")

    def scores(self, ids: Iterable[str], metric: str) -> np.ndarray:
        """The per-item ``metric`` of ``ids`` as floats (JSON true/false as 1/0, null as NaN); anything else
        is an :class:`InputError` naming the file and the field."""
        out = []
        for i in ids:
            v = self.items[i].get(metric)
            if v is None:
                out.append(math.nan)
            elif isinstance(v, (int, float)):
                out.append(float(v))
            else:
                raise InputError(f"expected a number, got {type(v).__name__}", file=self.where,
                                 field=f"{self.item_table}.{i}.{metric}")
        return np.array(out, dtype=float)

    # ------------------------------------------------------------ reading
    @classmethod
    def from_json(cls, data: Any, path=None, *, where: str = "<result>") -> "ResultRecord":
        """A record from a result file's JSON object (read from ``path``, if from a file), checked by
        :class:`ResultFile`: every problem is an :class:`InputError` naming the file (else ``where``) and the
        field."""
        if path is not None:
            path = where = Path(path)
        f = ResultFile.check(data, where)
        table = f.table
        _check_ranges(f, table, where)
        return cls(task=f.task, model=f.model, pooling=f.pooling, main_metric=f.main_metric,
                   metrics={k: (None if v is None or not math.isfinite(v) else float(v)) for k, v in f.metrics.items()},
                   task_kind=f.task_kind or "", task_group=f.task_group, split=f.split,
                   items=getattr(f, table) or {}, item_table=table, per_item_metric=f.per_item_metric,
                   greater_is_better=f.greater_is_better, item_scores=f.item_scores, meta=f.meta,
                   extra={k: v for k, v in data.items() if k not in _DECLARED},
                   path=path, source=None if path is not None else str(where))

    @classmethod
    def read(cls, path) -> "ResultRecord":
        """Read and check one result file (an :class:`InputError` naming file, line or field otherwise), in any
        key order and any JSON encoding (:func:`lmkbench.data.files.read_json_file`)."""
        data = read_json_file(path, "result file")
        if _kind(data) != "result":
            found = data.get("schema") if isinstance(data, Mapping) else None
            what = f"schema {found!r}" if found is not None else f"a JSON {type(data).__name__} without a schema"
            raise InputError(f"not an lmkbench result ({what}; expected {SCHEMA!r})", file=path, field="schema")
        return cls.from_json(data, path)

    # ------------------------------------------------------------ writing
    def to_json(self) -> dict[str, Any]:
        """The file's JSON object (schema ``lmkbench.result/1``; non-finite floats as null)."""
        out: dict[str, Any] = {"schema": SCHEMA, "task": self.task, "task_kind": self.task_kind}
        if self.task_group is not None:
            out["task_group"] = self.task_group
        out.update({"split": self.split, "model": self.model, "pooling": self.pooling,
                    "main_metric": self.main_metric})
        for key in ("per_item_metric", "greater_is_better", "item_scores"):   # written only when declared
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["metrics"] = self.metrics
        out[self.item_table] = self.items
        out["meta"] = self.meta.to_json()
        out.update(self.extra)
        return json_safe(out)

    def write(self, out_dir, run: dict[str, list[tuple[str, float]]] | None = None) -> Path:
        """Atomically write the result under ``out_dir`` (and its TREC run, top-100 per query, beside it)."""
        path = result_path(out_dir, self.task, self.model, self.pooling)
        if run is not None:
            atomic_write_text(path.with_suffix(".trec"), format_trec_run(run, tag=f"{self.model}|{self.pooling}"))
        atomic_write_json(path, self.to_json())
        self.path = path
        return path


def _check_ranges(f: ResultFile, table: str, where) -> None:
    """Every metric and per-item score inside its declared range (:data:`lmkbench.metrics.METRIC_INFO`: a
    per-query NDCG of 5.0 is refused, naming the field; NaN/null is "not scored" and passes)."""
    from .metrics import metric_info

    def bad(name: str, value) -> bool:
        info = metric_info(name)
        return (info is not None and isinstance(value, numbers.Real) and not isinstance(value, bool)
                and math.isfinite(value) and not info.low <= value <= info.high)

    for name, value in f.metrics.items():
        if bad(name, value):
            info = metric_info(name)
            raise InputError(f"{value} is outside {name}'s range [{info.low:g}, {info.high:g}]", file=where,
                             field=f"metrics.{name}")
    for item, row in (getattr(f, table) or {}).items():
        for name, value in row.items():
            if (f.item_scores is None or name in f.item_scores) and bad(name, value):
                info = metric_info(name)
                raise InputError(f"{value} is outside {name}'s range [{info.low:g}, {info.high:g}]", file=where,
                                 field=f"{table}.{item}.{name}")


def write_result(out_dir, record: "ResultRecord | Mapping", run: dict[str, list[tuple[str, float]]] | None = None) -> Path:
    """Atomically write a result (a record, or a mapping in the file's shape) and its TREC run."""
    if not isinstance(record, ResultRecord):
        for key in ("task", "model", "pooling", "metrics", "main_metric"):
            if key not in record:
                raise ValueError(f"result record lacks {key!r}")
        record = ResultRecord.from_json(record, where="<new result>")
    return record.write(out_dir, run)


def format_trec_run(run: dict[str, list[tuple[str, float]]], tag: str = "lmkbench") -> str:
    tag = re.sub(r"\s+", "_", tag)
    lines = []
    for qid, ranked in run.items():
        for rank, (doc_id, score) in enumerate(ranked, 1):
            lines.append(f"{qid} Q0 {doc_id} {rank} {score:.6f} {tag}")
    return "\n".join(lines) + ("\n" if lines else "")


#: the README's name for :meth:`ResultRecord.read`
read_result = ResultRecord.read


def _kind(data: Any) -> str:
    """What a JSON document is: ``"result"`` (this schema), ``"result-version"`` (a result of another schema
    version), ``"document"`` (another lmkbench document: comparison, baseline, ranking...) or ``"foreign"``."""
    schema = data.get("schema") if isinstance(data, Mapping) else None
    if schema == SCHEMA:
        return "result"
    if not isinstance(schema, str) or not schema.startswith("lmkbench."):
        return "foreign"
    return "result-version" if schema.startswith("lmkbench.result/") else "document"


def iter_results(root, *, on_bad: str = "error") -> Iterator[ResultRecord]:
    """Every result under ``root`` (recursively), sorted by path.

    Every ``*.json`` file is read whole, whatever its key order or JSON encoding; hidden paths (``.name``: a
    store's temporary folder, an atomic write's temp file) and folders are passed over. Then:

    * schema ``lmkbench.result/1``: a result (checked by :meth:`ResultRecord.from_json`);
    * another ``lmkbench.*`` schema (comparison, baseline, matched, ranking...): ignored;
    * any other JSON (an mteb or ranx export...): skipped, with one warning listing them;
    * a file that cannot be a result — empty, unreadable, not JSON, not a regular file, a result of another
      schema version or one that fails its checks: ``on_bad="error"`` (the default, which compare, report,
      baseline, check, the leaderboard and export share) raises its :class:`InputError`; ``"warn"`` logs it
      and goes on.
    """
    if on_bad not in ("warn", "error"):
        raise ValueError(f"on_bad must be 'warn' or 'error', not {on_bad!r}")
    root = Path(root)
    if not root.exists():
        raise InputError("results folder not found", file=root)
    others: list[Path] = []
    for path in sorted(root.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts) or path.is_dir():
            continue
        try:
            data = read_json_file(path, "result file")
            kind = _kind(data)
            if kind == "result":
                yield ResultRecord.from_json(data, path)
            elif kind == "result-version":
                raise InputError(f"result schema {data['schema']!r} is not one this lmkbench reads ({SCHEMA!r})",
                                 file=path, field="schema")
            elif kind == "foreign":
                others.append(path)
        except InputError as exc:
            if on_bad == "error":
                raise
            log.warning("skipping an unreadable result file: %s", exc)
    if others:
        shown = ", ".join(str(p.relative_to(root)) for p in others[:5]) + (", ..." if len(others) > 5 else "")
        log.warning("%d JSON file(s) under %s are not lmkbench results and were skipped: %s", len(others), root, shown)


def load_results(results) -> list[ResultRecord]:
    """Records from a results folder (:func:`iter_results`), one record, or a list of records (a mapping in a
    result file's shape is read as one: :meth:`ResultRecord.from_json`); ``lmkbench.load_results``. Finding
    none is an error naming the folder."""
    if isinstance(results, (str, Path)):
        records = list(iter_results(results))
        if not records:
            raise LmkbenchError(f"no lmkbench result files under {results}")
        return records
    if isinstance(results, (Mapping, ResultRecord)):
        results = [results]
    records = [r if isinstance(r, ResultRecord) else ResultRecord.from_json(r, where=f"<result #{i}>")
               for i, r in enumerate(results)]
    if not records:
        raise LmkbenchError("no results to compare")
    return records


@dataclass(frozen=True)
class Cell:
    task: str
    model: str
    pooling: str

    def path(self, out_dir) -> Path:
        return result_path(out_dir, self.task, self.model, self.pooling)

    def read(self, out_dir) -> ResultRecord | None:
        """The finished cell's record, or None when its file is absent or cannot be read (then it is computed)."""
        p = self.path(out_dir)
        if not p.exists():
            return None
        try:
            return read_result(p)
        except InputError:
            return None

    def done(self, out_dir) -> bool:
        return self.read(out_dir) is not None


def same_data(a: ResultRecord, b: ResultRecord) -> bool:
    """Whether two cells may be paired: their data checksums agree, or one of them states none."""
    sa, sb = a.meta.dataset_checksums, b.meta.dataset_checksums
    return not sa or not sb or sa == sb


def check_same_data(records: Iterable[ResultRecord]) -> None:
    """Cells that are paired must come from the same data (:func:`same_data`), else one :class:`InputError`
    naming both files (a partial rerun after the data changed; ``lmkbench run`` recomputes such cells)."""
    first: ResultRecord | None = None
    for rec in records:
        if not rec.meta.dataset_checksums:
            continue
        if first is None:
            first = rec
            continue
        if not same_data(rec, first):
            sums, firsts = rec.meta.dataset_checksums, first.meta.dataset_checksums
            differ = sorted(k for k in set(sums) | set(firsts) if sums.get(k) != firsts.get(k))
            raise InputError(f"task {rec.task!r}, model {rec.model!r}: computed on other data than {first.where} "
                             f"({', '.join(differ)} differ), so the two cannot be paired; rerun the task "
                             "(lmkbench run recomputes cells whose data changed)", file=rec.where,
                             field="meta.dataset_checksums")
