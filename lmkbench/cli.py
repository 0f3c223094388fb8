"""``lmkbench`` entry point: dispatches to the modules in :mod:`lmkbench.commands`."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import commands
from .errors import LmkbenchError


class _Parser(argparse.ArgumentParser):
    #: the command line being parsed (main sets it): the did-you-mean hints look at what was typed
    argv: list[str] = []

    def error(self, message):  # one-line error, exit 2, with a did-you-mean where a near name exists
        sys.stderr.write(f"{self.prog}: error: {message}{did_you_mean(self, message, self.argv)}\n")
        sys.exit(2)


def did_you_mean(parser: argparse.ArgumentParser, message: str, argv: list[str]) -> str:
    """A hint for an argparse error: the nearest choice to an invalid one (a command, ``--format``...), the
    nearest option to each unknown ``--flag`` typed (``--modle``, ``--basline``) among the options of the
    command it was typed for; '' when nothing is near (:func:`difflib.get_close_matches`)."""
    import difflib
    import re

    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        near = difflib.get_close_matches(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)), n=1)
        return f"; did you mean {near[0]!r}?" if near else ""
    if "unrecognized arguments" not in message and "required" not in message:
        return ""
    options = _options_of(parser, argv)
    hints = []
    for token in dict.fromkeys(t.split("=", 1)[0] for t in argv if t.startswith("--")):
        if token not in options:
            near = difflib.get_close_matches(token, sorted(options), n=1)
            if near:
                hints.append(f"{near[0]} for {token}")
    return f"; did you mean {', '.join(hints)}?" if hints else ""


def _options_of(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The option strings of the command named in ``argv`` (the top parser's own where it names none)."""
    options = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            command = next((t for t in argv if t in action.choices), None)
            if command is not None:
                options |= set(action.choices[command]._option_string_actions)
    return options


def _command_modules():
    mods = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(mod, "NAME") and hasattr(mod, "run"):
            mods.append(mod)
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 50))


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="lmkbench", description="Benchmark pooling strategies (LMK, CLS, mean, ...) of text encoders.")
    parser.add_argument("--version", action="version", version=f"lmkbench {__version__}")
    parser.add_argument("--plugin", action="append", metavar="MODULE",
                        help="load an extension first (a module or a .py file that registers poolings, loaders, "
                             "metrics...; repeatable, anywhere on the line; also $LMKBENCH_PLUGINS and the "
                             "'lmkbench.plugins' entry points)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):   # a lone surrogate from a file name or a text: printed, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    from .plugins import load_plugins

    try:   # extensions register their poolings, loaders, metrics... before the command line is built
        argv = load_plugins(sys.argv[1:] if argv is None else list(argv))
    except LmkbenchError as exc:
        sys.stderr.write(f"lmkbench: error: {exc}\n")
        return 2
    parser = build_parser()
    _Parser.argv = list(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # a bad argument (one line on stderr, code 2) or --help (0): a return code
        return exc.code if isinstance(exc.code, int) else 2
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except LmkbenchError as exc:
        sys.stderr.write(f"lmkbench {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; finished cells and cached embeddings are kept, re-run to resume\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
