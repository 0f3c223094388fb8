"""The leaderboard config: a small YAML file naming the grid (models × poolings × tasks) and where things go.

::

    title: Pooling leaderboard                 # page title (default: "lmkbench leaderboard")
    results: results                           # result store, one file per cell (default: results)
    out: results                               # leaderboard.csv / .html / .json go here (default: results)
    models:                                    # a name/alias/path, or a mapping with per-model settings
      - minilm
      - {model: path/to/checkpoint, poolings: [lmk], max_length: 256}
      - bm25                                   # the lexical reference (retrieval tasks; no poolings)
    poolings: [cls, mean, lmk]                 # pooling specs for every model without its own list
    tasks: [bbc_retrieval, "beir:../shared/data/scifact?group=short-retrieval"]
    suites: [default]                          # suite names (as `lmkbench run --suite`)
    settings:                                  # RunSettings for every model (model entries override)
      max_length: 512
      long_policy: truncate                    # truncate | windows
      device: auto
    groups: {scifact: short-retrieval}         # task name → column group, where a task has none
    ranking: {test: ttest, correction: holm, alpha: 0.05}
    on_error: stop                             # stop | skip (a task that fails is left out and reported)

Relative paths (``results``, ``out``, ``beir:`` folders, model folders) are relative to the working
directory, as on the ``lmkbench run`` command line. Every problem names the file, line and field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, LmkbenchError
from ..stats.correction import normalise_method
from ..stats.tests import TESTS

TOP_KEYS = {"title", "results", "out", "models", "poolings", "tasks", "suites", "settings", "groups", "ranking",
            "on_error"}
SETTINGS = {"max_length": int, "long_policy": str, "device": str, "dtype": str, "token_budget": int,
            "cache_dir": str, "trust_remote_code": bool, "revision": str}
MODEL_KEYS = {"model", "poolings"} | set(SETTINGS)
RANKING = {"test": str, "correction": str, "alpha": float, "seed": int, "n_resamples": int}


@dataclass
class ModelEntry:
    model: str
    poolings: list[str]
    settings: dict[str, Any]


@dataclass
class LeaderboardConfig:
    path: Path
    title: str
    results: Path
    out: Path
    models: list[ModelEntry]
    task_specs: list[str]
    groups: dict[str, str] = field(default_factory=dict)
    ranking: dict[str, Any] = field(default_factory=dict)
    on_error: str = "stop"


def _line(d, key=None):
    lines = getattr(d, "lines", None)
    if lines is not None and key is not None and key in lines:
        return lines[key]
    return getattr(d, "line", None)


def load_config(path) -> LeaderboardConfig:
    from ..bm25 import is_lexical, parse_system
    from ..poolings import canonical
    from ..tasks.catalogue import read_yaml

    path = Path(path)
    if not path.is_file():
        raise InputError("leaderboard config not found", file=path)
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise InputError("expected a mapping at the top level", file=path, line=1)

    def fail(msg, key, where=doc, field_name=None):
        raise InputError(msg, file=path, line=_line(where, key), field=field_name or key)

    for key in doc:
        if key not in TOP_KEYS:
            fail(f"unknown key (known: {', '.join(sorted(TOP_KEYS))})", key)

    def str_list(where, key, field_name, required=False):
        v = where.get(key)
        if v is None:
            if required:
                fail("missing", key, where, field_name)
            return []
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            fail("expected a list of strings", key, where, field_name)
        return [x.strip() for x in v]

    def poolings_of(where, key, field_name):
        out = []
        for spec in str_list(where, key, field_name):
            try:
                out.append(canonical(spec))
            except LmkbenchError as exc:
                fail(str(exc), key, where, field_name)
        return out

    def typed(where, key, typ, field_name):
        v = where[key]
        if typ is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, typ) or (typ is not bool and isinstance(v, bool)):
            fail(f"expected {typ.__name__}, got {type(v).__name__}", key, where, field_name)
        return v

    def settings_of(where, keys_allowed, prefix):
        out = {}
        for key in where:
            if key not in keys_allowed:
                fail(f"unknown setting (known: {', '.join(sorted(keys_allowed))})", key, where, f"{prefix}{key}")
            if key in SETTINGS:
                out[key] = typed(where, key, SETTINGS[key], f"{prefix}{key}")
        return out

    settings = doc.get("settings") or {}
    if not isinstance(settings, dict):
        fail("expected a mapping", "settings")
    base_settings = settings_of(settings, set(SETTINGS), "settings.")
    default_poolings = poolings_of(doc, "poolings", "poolings")

    raw_models = doc.get("models")
    if not isinstance(raw_models, list) or not raw_models:
        fail("expected a non-empty list of models", "models")
    models = []
    for i, entry in enumerate(raw_models):
        fname = f"models[{i}]"
        if isinstance(entry, str):
            entry_map: dict = {"model": entry}
            where = doc
        elif isinstance(entry, dict):
            entry_map, where = entry, entry
            if not isinstance(entry.get("model"), str) or not entry["model"].strip():
                fail("missing or not a string", "model", entry, f"{fname}.model")
        else:
            fail("expected a model name or a mapping with 'model'", "models", doc, fname)
        own = settings_of(entry_map, MODEL_KEYS, f"{fname}.") if isinstance(entry, dict) else {}
        if is_lexical(entry_map["model"]):  # a lexical reference system (bm25): its own single cell per task
            if "poolings" in entry_map:
                fail("a lexical system takes no poolings", "poolings", entry_map, f"{fname}.poolings")
            try:
                system = parse_system(entry_map["model"].strip())
            except LmkbenchError as exc:
                fail(str(exc), "model", where, f"{fname}.model")
            models.append(ModelEntry(entry_map["model"].strip(), [system.name], {**base_settings, **own}))
            continue
        pools = poolings_of(entry_map, "poolings", f"{fname}.poolings") if "poolings" in entry_map else default_poolings
        if not pools:
            fail("no poolings: give 'poolings' at the top level or for this model", "models", where,
                 f"{fname}.poolings")
        models.append(ModelEntry(entry_map["model"].strip(), pools, {**base_settings, **own}))

    specs = str_list(doc, "tasks", "tasks") + [f"suite:{s}" for s in str_list(doc, "suites", "suites")]
    if not specs:
        fail("name at least one task (tasks:) or suite (suites:)", "tasks")

    groups = doc.get("groups") or {}
    if not isinstance(groups, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in groups.items()):
        fail("expected a mapping of task name → group", "groups")
    ranking_raw = doc.get("ranking") or {}
    if not isinstance(ranking_raw, dict):
        fail("expected a mapping", "ranking")
    ranking = {}
    for key in ranking_raw:
        if key not in RANKING:
            fail(f"unknown ranking option (known: {', '.join(sorted(RANKING))})", key, ranking_raw, f"ranking.{key}")
        ranking[key] = typed(ranking_raw, key, RANKING[key], f"ranking.{key}")
    if ranking.get("test", "ttest") not in TESTS:
        fail(f"unknown test (known: {', '.join(TESTS)})", "test", ranking_raw, "ranking.test")
    if "correction" in ranking:
        try:
            ranking["correction"] = normalise_method(ranking["correction"])
        except LmkbenchError as exc:
            fail(str(exc), "correction", ranking_raw, "ranking.correction")
    if not 0 < ranking.get("alpha", 0.05) < 1:
        fail("alpha must be in (0, 1)", "alpha", ranking_raw, "ranking.alpha")
    on_error = doc.get("on_error", "stop")
    if on_error not in ("stop", "skip"):
        fail("expected stop or skip", "on_error")
    title = doc.get("title", "lmkbench leaderboard")
    if not isinstance(title, str):
        fail("expected a string", "title")
    for key in ("results", "out"):
        if key in doc and not isinstance(doc[key], str):
            fail("expected a path", key)
    return LeaderboardConfig(path=path, title=title, results=Path(doc.get("results", "results")),
                             out=Path(doc.get("out", "results")), models=models, task_specs=specs,
                             groups=dict(groups), ranking=ranking, on_error=on_error)
