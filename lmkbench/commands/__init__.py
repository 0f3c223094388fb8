"""CLI subcommands: one module per command, discovered automatically.

A command module defines::

    NAME = "compare"                     # the subcommand
    HELP = "one-line description"
    def add_arguments(parser): ...       # argparse.ArgumentParser for this command
    def run(args) -> int: ...            # exit code

and nothing else is needed: :mod:`lmkbench.cli` imports every module in this package.
"""
