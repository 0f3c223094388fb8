"""The registries of paired tests and multiple-comparison corrections, like the poolings' and metrics'.

Everything that offers or explains a test reads these: the CLI choices (``compare``, ``report``, ``check``),
the checks of :func:`~lmkbench.stats.settings.check_settings` (compare, ranking, gate), the leaderboard
config's validation and the report's "how to read this". Adding a test is one decorated function::

    from lmkbench.stats.registry import register_test

    @register_test("sign", help="sign test (binomial on the signs)", text="the sign test on ...")
    def sign_test(a, b, draws):          # paired scores (NaN pairs already dropped), a Draws
        ...
        return statistic, p, note        # p None where undefined, note "" or why

The built-in tests and corrections register in :mod:`.tests` and :mod:`.correction`, which the registries
import on their first lookup; neither imports scipy at module level, so building the CLI does not either
(scipy is imported when a test runs). This module imports neither numpy nor scipy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..errors import LmkbenchError
from ..params import unknown_name
from ..specs import Entry, Registry

CI_METHODS = ("t", "bootstrap")


@dataclass(frozen=True)
class StatTest:
    """A registered paired test: ``run(a, b, draws) -> (statistic, p, note)`` and how it is offered."""

    name: str
    run: Callable[..., tuple[Any, Any, str]]
    help: str                 # one line: the CLI help and error messages
    text: str                 # the report's explanation (what it tests, which CI goes with it)
    ci: str = "bootstrap"     # the CI that goes with it under ci="auto": "t" (t interval) or "bootstrap"
    binary: bool = False      # for 0/1 outcomes only: switched to automatically (binary_test), never a --test
    gate: bool = True         # offered by the CI gate (`lmkbench check --test`)


@dataclass(frozen=True)
class Correction:
    """A registered correction: ``adjust(p) -> adjusted p`` over one family (a numpy array, no None)."""

    name: str
    adjust: Callable[[Any], Any]
    help: str
    text: str
    aliases: tuple[str, ...] = ()


class MethodRegistry(Registry):
    """A :class:`~lmkbench.specs.Registry` listed in registration order (the default first, as declared),
    from which a test file may remove what it registered (:meth:`unregister`)."""

    def __iter__(self) -> Iterator[Entry]:
        self._load()
        return iter(list(self._entries.values()))

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def method(self, name: str):
        """The registered record (:class:`StatTest` / :class:`Correction`); unknown: one clear error."""
        return self.entry(name).obj


STAT_TESTS: MethodRegistry = MethodRegistry("test", modules=("lmkbench.stats.tests",))
CORRECTIONS: MethodRegistry = MethodRegistry("correction", modules=("lmkbench.stats.correction",))


def register_test(name: str, *, help: str, text: str = "", ci: str = "bootstrap", binary: bool = False,
                  gate: bool = True):
    """Decorator: register ``run(a, b, draws) -> (statistic, p, note)`` as the paired test ``name``."""
    if ci not in CI_METHODS:
        raise ValueError(f"test {name!r}: ci must be one of {', '.join(CI_METHODS)}, got {ci!r}")

    def deco(run):
        STAT_TESTS.register(name, help=help)(StatTest(name, run, help, text or help, ci, binary, gate))
        return run

    return deco


def register_correction(name: str, *, help: str, text: str = "", aliases: tuple[str, ...] = ()):
    """Decorator: register ``adjust(p) -> adjusted p`` (one family) as the correction ``name``."""

    def deco(adjust):
        CORRECTIONS.register(name, help=help)(Correction(name, adjust, help, text or help, tuple(aliases)))
        return adjust

    return deco


def offered_tests(*, gate: bool = False) -> list[str]:
    """The tests a user picks (``--test``): every test but the binary-only ones; ``gate``: those the gate offers."""
    return [e.name for e in STAT_TESTS if not e.obj.binary and (e.obj.gate or not gate)]


def binary_tests() -> list[str]:
    """The tests for 0/1 outcomes, which a comparison switches to (``binary_test``)."""
    return [e.name for e in STAT_TESTS if e.obj.binary]


def correction_of(name: str | None) -> Correction:
    """The correction named ``name`` or one of its aliases (case and spaces ignored; None: ``none``)."""
    key = (name or "none").strip().lower()
    for e in CORRECTIONS:
        if key == e.name or key in e.obj.aliases:
            return e.obj
    raise LmkbenchError(unknown_name("correction", name, CORRECTIONS.names()))
