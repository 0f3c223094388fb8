"""Runs of a suite: the settings asked for, plus the suite's own ``variants`` where the user chose no length.

A suite file may declare ``variants:`` (:class:`~lmkbench.tasks.taskfile.SuiteVariant`): encoder settings the
suite is *also* run with, e.g. the default suite reads its long synthetic tasks a second time at 4,096 tokens
with a positions method, so that a model is shown both as trained (truncated) and extended. Variants apply
only when the run sets none of :data:`LENGTH_SETTINGS` itself (a user who chose a length gets exactly that), and
a variant that does not fit the model (``pi`` on a RoPE model) is skipped with its reason, never silently.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from .errors import InputError, LmkbenchError
from .settings import EncoderSettings

#: settings a user chooses a reading length with; setting any of them turns the suite's variants off
LENGTH_SETTINGS = ("max_length", "long_policy", "positions")


@dataclass(frozen=True)
class SuiteRun:
    """One ``Runner`` pass: encoder settings, task specs, and the variant it comes from (None: as asked)."""

    settings: EncoderSettings
    tasks: tuple[str, ...]
    variant: str | None = None
    why: str | None = None


def chose_length(settings: EncoderSettings) -> bool:
    default = EncoderSettings()
    return any(getattr(settings, k) != getattr(default, k) for k in LENGTH_SETTINGS)


#: a variant's ``max_length: whole``: read its tasks whole with every pooling (see :func:`read_whole_length`)
WHOLE = "whole"


def read_whole_length(tasks, poolings=None) -> int:
    """The max length at which every document of ``tasks`` is read whole by every pooling: the longest document
    (a synthetic task's ``length``, exact content tokens of the model's tokenizer) plus the largest overhead of
    its input family (specials; one landmark per chunk for ``lmk``) among ``poolings`` and the default
    poolings, so that results of separate runs share one label. E.g. 4,096 content tokens: mean needs 4,098,
    lmk (g=32) 4,225, so every pooling gets 4,225 and reads all 4,096 content tokens."""
    from .inputs import whole_length
    from .poolings import make_pooling
    from .runner import DEFAULT_POOLINGS

    unknown = [t.name for t in tasks if not isinstance(t.params.get("length"), int)]
    if unknown:
        raise LmkbenchError(f"max_length: {WHOLE} needs tasks whose document length is known before they load "
                            f"(synthetic tasks: params.length); {', '.join(unknown)} have none")
    families = [make_pooling(p).family() for p in dict.fromkeys([*DEFAULT_POOLINGS, *(poolings or [])])]
    return whole_length(max(t.params["length"] for t in tasks), families)


def plan_runs(task_specs: list[str], settings: EncoderSettings, dirs=None, poolings=None) -> list[SuiteRun]:
    """The run as asked, then one run per variant of every ``suite:NAME`` spec (unless a length was chosen).
    A variant's ``max_length: whole`` becomes :func:`read_whole_length` of its tasks and ``poolings``."""
    runs = [SuiteRun(settings, tuple(task_specs))]
    if chose_length(settings):
        return runs
    suites = [s[6:].strip() for s in task_specs if s.startswith("suite:")]
    if not suites:
        return runs
    from .tasks import load_catalogue

    cat = load_catalogue(dirs)
    for name in suites:
        suite_tasks = [t.name for t in cat.suite_tasks(name)]
        suite = cat.suites[name]                 # suite_tasks raised already if the suite is unknown
        for i, v in enumerate(suite.variants):
            names = suite_tasks if not v.tasks else [t for t in suite_tasks
                                                    if any(fnmatch.fnmatchcase(t, pat) for pat in v.tasks)]
            unmatched = [pat for pat in v.tasks or [] if not any(fnmatch.fnmatchcase(t, pat) for t in suite_tasks)]
            if unmatched:   # a typo in a glob would silently drop the variant's tasks
                raise InputError(f"variant {v.name!r}: {', '.join(map(repr, unmatched))} matches none of the suite's "
                                 f"tasks ({', '.join(suite_tasks)})", file=suite.file, line=suite.variants_line,
                                 field=f"suite.variants[{i}].tasks")
            if names:
                asked = dict(v.settings)
                if asked.get("max_length") == WHOLE:
                    asked["max_length"] = read_whole_length([cat.task(t) for t in names], poolings)
                runs.append(SuiteRun(EncoderSettings.of(settings, **asked), tuple(names),
                                     f"{name}/{v.name}", v.why))
    return runs


def run_plan(runs: list[SuiteRun], make_runner, log=print) -> tuple[list[tuple[SuiteRun, list[dict]]], object]:
    """Run every :class:`SuiteRun` with ``make_runner(settings)`` (a :class:`~lmkbench.runner.Runner` factory);
    a variant that cannot run with this model is skipped with its reason. Returns each run with its summary rows
    and the first runner (for hints that read its encoder)."""
    done: list[tuple[SuiteRun, list[dict]]] = []
    first = None
    for run in runs:
        if run.variant is not None:
            log(f"== suite variant {run.variant}: {', '.join(f'{k}={getattr(run.settings, k)}' for k in LENGTH_SETTINGS)}"
                + (f" ({run.why})" if run.why else "") + " ==")
        try:
            runner = make_runner(run.settings)
            first = first or runner
            done.append((run, runner.run(list(run.tasks))))
        except LmkbenchError as exc:
            if run.variant is None:
                raise
            log(f"suite variant {run.variant} skipped: {exc}")
    return done, first
