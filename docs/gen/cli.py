"""The CLI reference, from ``lmkbench.cli.build_parser()``: every command's ``--help``, verbatim."""
from __future__ import annotations

import argparse
import os
from contextlib import contextmanager

from .md import table

WIDTH = "100"   # argparse wraps to $COLUMNS: fixed, so the page does not depend on the terminal


@contextmanager
def _columns():
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def commands() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser], dict[str, str]]:
    """The top parser, each subcommand's parser (in the CLI's order) and each one's one-line help."""
    from lmkbench.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in action._choices_actions}
    return parser, dict(action.choices), helps


def help_text(name: str | None = None) -> str:
    """``lmkbench [NAME] --help`` as the CLI prints it (at a fixed width)."""
    with _columns():
        parser, subs, _ = commands()
        return (subs[name] if name else parser).format_help()


def summary() -> str:
    _, subs, helps = commands()
    return table(["command", "what it does"], [[f"[`{n}`](cli.md#lmkbench-{n})", helps.get(n, "")] for n in subs])


def reference() -> str:
    _, subs, _ = commands()
    parts = ["## lmkbench\n", "```text\n" + help_text() + "```\n"]
    for name in subs:
        parts += [f"## lmkbench {name}\n", "```text\n" + help_text(name) + "```\n"]
    return "\n".join(parts)
