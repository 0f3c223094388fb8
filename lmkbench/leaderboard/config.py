"""The leaderboard config: a small YAML file naming the grid (models × poolings × tasks) and where things go.

::

    title: Pooling leaderboard                 # page title (default: "lmkbench leaderboard")
    results: runs                              # result store, one file per cell (default: runs, git-ignored)
    out: runs/leaderboard                      # leaderboard.csv / .html / .json go here (default: runs/leaderboard)
    models:                                    # a name/alias/path, or a mapping with per-model settings
      - minilm
      - {model: path/to/checkpoint, poolings: [lmk], max_length: 256}
      - bm25                                   # the lexical reference (retrieval tasks; no poolings)
    poolings: [cls, mean, lmk]                 # pooling specs for every model without its own list
    tasks: [bbc_retrieval, "beir:../shared/data/scifact?group=short-retrieval"]
    suites: [default]                          # suite names (as `lmkbench run --suite`)
    settings:                                  # EncoderSettings for every model (model entries override)
      max_length: 512
      long_policy: truncate                    # truncate | windows
      device: auto
    groups: {scifact: short-retrieval}         # task name → column group, where a task has none
    ranking: {test: ttest, correction: holm, alpha: 0.05}
    on_error: stop                             # stop | skip (a task that fails is left out and reported)

Relative paths (``results``, ``out``, ``beir:`` folders, model folders) are relative to the working
directory, as on the ``lmkbench run`` command line. The file is validated by pydantic models
(:class:`LeaderboardFile`; ``settings:`` and the settings of a model entry are
:class:`~lmkbench.settings.EncoderSettings` fields); every problem names the file, line and field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import Gt, Lt, MinLen
from pydantic import BeforeValidator, model_validator

from ..configs import StrictModel, Text, checked, line_of, model_of, read_yaml, validate
from ..errors import InputError, LmkbenchError
from ..settings import EncoderSettings
from ..stats.correction import normalise_method
from ..stats.registry import STAT_TESTS


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _canonical_poolings(specs: list[str]) -> list[str]:
    from ..poolings import canonical

    return [canonical(s) for s in specs]


def _known_test(test: str) -> str:
    if test not in STAT_TESTS:
        raise LmkbenchError(f"unknown test (known: {', '.join(STAT_TESTS.names())})")
    return test


Names = Annotated[list[Text], BeforeValidator(_listed)]          # a string or a list of strings
Poolings = Annotated[Names, checked(_canonical_poolings)]        # canonical pooling specs
EncoderSettingsConfig = model_of(EncoderSettings)


class ModelItem(EncoderSettingsConfig):
    """A ``models:`` entry: a name, or a mapping with ``model``, optional ``poolings`` and encoder settings."""

    model: Text
    poolings: Poolings | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_name(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"model": data}
        if not isinstance(data, dict):
            raise ValueError("expected a model name or a mapping with 'model'")
        return data

    def settings(self) -> dict[str, Any]:
        """The encoder settings this entry gives itself."""
        return self.model_dump(include=set(EncoderSettings.names()), exclude_unset=True)


class Ranking(StrictModel):
    """``ranking:``, the keyword arguments of :func:`~lmkbench.leaderboard.board.build_leaderboard` (unset: its defaults)."""

    test: Annotated[str, checked(_known_test)] | None = None
    correction: Annotated[str, checked(normalise_method)] | None = None
    alpha: Annotated[float, Gt(0), Lt(1)] | None = None
    seed: int | None = None
    n_resamples: Annotated[int, Gt(0)] | None = None


class LeaderboardFile(StrictModel):
    title: str = "lmkbench leaderboard"
    results: str = "runs"
    out: str = "runs/leaderboard"
    models: Annotated[list[ModelItem], MinLen(1)]
    poolings: Poolings | None = None
    tasks: Names | None = None
    suites: Names | None = None
    settings: EncoderSettingsConfig | None = None
    groups: dict[str, str] | None = None
    ranking: Ranking | None = None
    on_error: Literal["stop", "skip"] = "stop"


@dataclass
class ModelEntry:
    model: str
    poolings: list[str]
    settings: dict[str, Any]      # the encoder settings the config gives (top level, then the entry's own)

    def encoder(self, **overrides: Any) -> EncoderSettings:
        return EncoderSettings.of(**{**self.settings, **overrides})


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


def load_config(path) -> LeaderboardConfig:
    path = Path(path)
    if not path.is_file():
        raise InputError("leaderboard config not found", file=path)
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise InputError("expected a mapping at the top level", file=path, line=1)
    cfg = validate(LeaderboardFile, doc, file=path)
    base = cfg.settings.model_dump(exclude_unset=True) if cfg.settings else {}
    models = [_model_entry(item, i, cfg.poolings or [], base, doc, path) for i, item in enumerate(cfg.models)]
    specs = (cfg.tasks or []) + [f"suite:{s}" for s in cfg.suites or []]
    if not specs:
        raise InputError("name at least one task (tasks:) or suite (suites:)", file=path, line=line_of(doc, "tasks"),
                         field="tasks")
    ranking = cfg.ranking.model_dump(exclude_none=True) if cfg.ranking else {}
    return LeaderboardConfig(path=path, title=cfg.title, results=Path(cfg.results), out=Path(cfg.out), models=models,
                             task_specs=specs, groups=dict(cfg.groups or {}), ranking=ranking, on_error=cfg.on_error)


def _model_entry(item: ModelItem, i: int, default_poolings: list[str], base: dict, doc: dict, path: Path) -> ModelEntry:
    """A validated model entry with its poolings (a lexical system: its own single label) and settings."""
    from ..bm25 import is_lexical, parse_system

    raw = doc["models"][i]
    where = raw if isinstance(raw, dict) else doc

    def fail(msg: str, key: str):
        raise InputError(msg, file=path, line=line_of(where, key if where is raw else "models"),
                         field=f"models[{i}].{key}")

    settings = {**base, **item.settings()}
    if is_lexical(item.model):  # a lexical reference system (bm25): its own single cell per task
        if item.poolings is not None:
            fail("a lexical system takes no poolings", "poolings")
        try:
            return ModelEntry(item.model, [parse_system(item.model).name], settings)
        except LmkbenchError as exc:
            fail(str(exc), "model")
    poolings = item.poolings if item.poolings is not None else default_poolings
    if not poolings:
        fail("no poolings: give 'poolings' at the top level or for this model", "poolings")
    return ModelEntry(item.model, poolings, settings)
