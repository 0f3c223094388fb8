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


def plan_runs(task_specs: list[str], settings: EncoderSettings, dirs=None) -> list[SuiteRun]:
    """The run as asked, then one run per variant of every ``suite:NAME`` spec (unless a length was chosen)."""
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
        for v in cat.suites[name].variants:      # suite_tasks raised already if the suite is unknown
            names = suite_tasks if not v.tasks else [t for t in suite_tasks
                                                    if any(fnmatch.fnmatchcase(t, pat) for pat in v.tasks)]
            if names:
                runs.append(SuiteRun(EncoderSettings.of(settings, **v.settings), tuple(names),
                                     f"{name}/{v.name}", v.why))
    return runs


def run_plan(runs: list[SuiteRun], make_runner, log=print) -> tuple[list[tuple[SuiteRun, list[dict]]], object]:
    """Run every :class:`SuiteRun` with ``make_runner(settings)`` (a :class:`~lmkbench.runner.Runner` factory);
    a variant that cannot run with this model is skipped with its reason. Returns each run with its summary rows
    and the first runner (for hints that read its encoder)."""
    from .errors import LmkbenchError

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
