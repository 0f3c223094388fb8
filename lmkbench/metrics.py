"""Retrieval metrics as small parseable specs (``ndcg@10``, ``recall@100``, ``mrr@10``, ``acc@1``).

Per-query values follow trec_eval (and so pytrec_eval) exactly: a run is ranked by score, ties broken by
document id in *descending* order; NDCG uses gain = grade and the log2(rank+1) discount with the ideal
ranking built from the judged grades; recall counts relevant (grade > 0) documents. A query with no
retrieved documents scores 0 (pytrec_eval would silently drop it). Tests check every metric against
pytrec_eval to 1e-6.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import LmkbenchError
from .params import REQUIRED, Param, to_int, to_str, unknown_name
from .specs import Registry

#: every metric: a function ``(ranked, judged, k) → float`` registered with its one declared parameter ``k``
METRICS: Registry = Registry("metric")
CUTOFF = {"k": Param(to_int, REQUIRED, "rank cutoff", ge=1)}
_SYNTAX = re.compile(r"\s*([a-z][a-z_]*?)\s*(?:(?:@|_at_)\s*(\w+))?\s*")


def _metric(name: str, help: str):
    return METRICS.register(name, params=CUTOFF, help=help)


@dataclass(frozen=True)
class Metric:
    name: str
    k: int

    def __str__(self) -> str:
        return f"{self.name}@{self.k}"

    @property
    def key(self) -> str:
        """Result-file key, e.g. ``ndcg_at_10`` (mteb's naming)."""
        return f"{self.name}_at_{self.k}"

    def __call__(self, ranked: list[str], judged: dict[str, int]) -> float:
        return METRICS[self.name](ranked, judged, self.k)


# -- what every stored metric means: its direction and its range ---------------------------------------------
@dataclass(frozen=True)
class MetricInfo:
    """A stored metric's direction (as sentence-transformers' evaluators declare ``greater_is_better``) and the
    range its values must lie in (a value outside it is refused where a result is read)."""

    greater_is_better: bool = True
    low: float = 0.0
    high: float = 1.0


#: per metric family (the result key without ``_at_k``): every metric lmkbench stores is a proportion,
#: greater-is-better; a lower-is-better or unbounded metric is declared with :func:`register_metric_info`
METRIC_INFO: dict[str, MetricInfo] = {name: MetricInfo() for name in (
    "ndcg", "recall", "precision", "mrr", "map", "hit", "acc", "accuracy", "f1", "v_measure", "correct_rate",
    "correct", "ap")}
_AT_K = re.compile(r"^(.*?)_at_\d+$")


def register_metric_info(metric: str, greater_is_better: bool = True, low: float = -math.inf,
                         high: float = math.inf) -> None:
    """Declare a metric's direction and range (``metric`` as a result key, e.g. ``latency_s``, or a family)."""
    METRIC_INFO[metric] = MetricInfo(bool(greater_is_better), low, high)


def metric_info(metric: str) -> MetricInfo | None:
    """The declaration of a result key (``ndcg_at_10`` → ``ndcg``'s), or None for an undeclared one."""
    if metric in METRIC_INFO:
        return METRIC_INFO[metric]
    m = _AT_K.match(str(metric))
    return METRIC_INFO.get(m.group(1)) if m else None


def greater_is_better(metric: str, declared: bool | None = None) -> bool:
    """Direction of ``metric``: a result's own declaration (``declared``), else the registry, else True."""
    if declared is not None:
        return bool(declared)
    info = metric_info(metric)
    return True if info is None else info.greater_is_better


def parse_metric(text) -> Metric:
    """``ndcg@10``, ``ndcg_at_10``, ``nDCG@10`` → ``Metric("ndcg", 10)`` (a :class:`Metric` is returned as is)."""
    if isinstance(text, Metric):
        return text
    m = _SYNTAX.fullmatch(to_str(text).lower())
    if not m or m.group(1) not in METRICS:
        name = m.group(1) if m else to_str(text).lower()
        raise LmkbenchError(unknown_name("metric", name, METRICS.names(), shown=text, suffix="@k"))
    name, k = m.groups()
    return Metric(name, METRICS.schema(name).check({"k": k})["k"])


def parse_metrics(value) -> tuple[Metric, ...]:
    """A list of metric specs (or one comma-separated string) → metrics; the converter of an option."""
    items = [p for p in value.split(",") if p.strip()] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise ValueError(f"expected a non-empty list of metric specs like ndcg@10, got {value!r}")
    return tuple(parse_metric(m) for m in items)


def rank_run(scored: list[tuple[str, float]]) -> list[str]:
    """Order a run as trec_eval does: score descending, then document id descending."""
    return [d for d, _ in sorted(scored, key=lambda x: (-x[1], _Desc(x[0])))]


class _Desc:
    __slots__ = ("s",)

    def __init__(self, s):
        self.s = s

    def __lt__(self, other):
        return self.s > other.s

    def __eq__(self, other):
        return self.s == other.s


@_metric("ndcg", "normalised discounted cumulative gain at k (trec_eval ndcg_cut)")
def ndcg(ranked, judged, k):
    dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if judged.get(d, 0) > 0)
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


@_metric("recall", "share of relevant documents retrieved in the top k")
def recall(ranked, judged, k):
    rel = {d for d, g in judged.items() if g > 0}
    return len(rel.intersection(ranked[:k])) / len(rel) if rel else 0.0


@_metric("mrr", "reciprocal rank of the first relevant document within the top k")
def mrr(ranked, judged, k):
    for i, d in enumerate(ranked[:k]):
        if judged.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


@_metric("acc", "1 if a relevant document is in the top k (Acc@1 = top-1 is relevant)")
def acc(ranked, judged, k):
    return float(any(judged.get(d, 0) > 0 for d in ranked[:k]))


@_metric("precision", "share of the top k that is relevant")
def precision(ranked, judged, k):
    return sum(1 for d in ranked[:k] if judged.get(d, 0) > 0) / k


DEFAULT_METRICS = tuple(parse_metric(m) for m in ("ndcg@10", "recall@10", "recall@100", "mrr@10", "acc@1"))


def per_query_scores(run: dict[str, list[tuple[str, float]]], qrels: dict[str, dict[str, int]],
                     metrics=DEFAULT_METRICS) -> dict[str, dict[str, float]]:
    """``{qid: {metric_key: value}}`` for every query with at least one relevant document."""
    out: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        if not any(g > 0 for g in judged.values()):
            continue
        ranked = rank_run(run.get(qid, []))
        out[qid] = {m.key: m(ranked, judged) for m in metrics}
    return out


def catalogue() -> list[tuple[str, str]]:
    return [(f"{e.name}@k", e.help) for e in METRICS]
