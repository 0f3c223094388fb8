"""The encoder settings, listed once: :class:`EncoderSettings`.

Every way of running an encoder takes these: the CLI flags (``commands/_common.add_encoder_arguments`` reads
each field's ``flag`` and ``help``), a leaderboard config's ``settings:`` and model entries (validated by a
pydantic mirror of this class, :func:`lmkbench.configs.model_of`), :class:`~lmkbench.runner.RunSettings`
and :class:`~lmkbench.encoder.PooledEncoder`. A setting added here appears in all of them.

A frozen dataclass rather than a pydantic model: it is built on every run from values that are already
checked (argparse, a validated config) or passed by Python code (a ``Path`` or ``False`` as ``cache_dir``), so
constructing it validates nothing and raises nothing new; the annotations (types, ``Literal`` choices,
``annotated_types`` bounds) are what a config file is validated against, strictly, where it is read.

:data:`EncoderSettings.GATED_KEYS` are the settings an encoder records in a result's meta (resolved:
``device: cpu``, not ``auto``) that the regression gate compares between a baseline and a new run.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from annotated_types import Ge, Gt

from .errors import LmkbenchError
from .params import did_you_mean

Positive = Annotated[int, Gt(0)]
LongPolicy = Literal["truncate", "windows"]
Dtype = Literal["auto", "fp32", "bf16", "fp16"]


def _setting(default, help: str, flag: str | None = None, *, gated: bool = False, **argparse_options):
    """A field with its CLI flag (None: Python API and configs only), its help, and whether the gate compares it."""
    return field(default=default, metadata={"flag": flag, "help": help, "gated": gated, "argparse": argparse_options})


@dataclass(frozen=True)
class EncoderSettings:
    """How a model encodes: input length, long-text policy, numerics, batching, store and model loading."""

    max_length: Positive | None = _setting(
        None, "tokens per model input (default: the checkpoint's sentence-transformers max_seq_length, e.g. 256 "
              "for MiniLM, else the model's position limit)", "--max-length", gated=True)
    long_policy: LongPolicy = _setting(
        "truncate", "texts longer than --max-length: right-truncate (default), or encode consecutive max-length "
                    "windows and pool across all of them", "--long", gated=True)
    positions: str = _setting(
        "native", "how positions past the model's limit are read: native (refuse), gp, rp, pi (learned absolute "
                  "positions, LongEmbed's grouped / recurrent / interpolated), ntk:F, linear:F, yarn:F (RoPE models, "
                  "extension factor F); see lmkbench.positions", "--positions", gated=True, metavar="METHOD")
    dtype: Dtype = _setting("auto", "auto = bf16 (or fp16) autocast on CUDA, fp32 on CPU", "--dtype", gated=True)
    device: str = _setting("auto", "auto|cpu|cuda|cuda:N (default auto)", "--device", gated=True)
    token_budget: Positive | None = _setting(
        None, "max rows × padded length per batch (default 4096 on CPU, 65536 on CUDA)", "--token-budget",
        gated=True)
    shard_texts: Positive | None = _setting(
        None, "texts per store shard (default 4096 on CPU, 32768 on CUDA; a shard is also bounded by characters); "
              "each finished shard is written at once, so an interrupted run loses at most one", "--shard-size",
        metavar="N")
    cache_dir: str | Path | Literal[False] | None = _setting(
        None, "embedding store folder, reused across runs (default $LMKBENCH_CACHE or ~/.cache/lmkbench)",
        "--cache-dir")
    trust_remote_code: bool = _setting(False, "allow model code from the hub (off by default)", "--trust-remote-code")
    revision: str | None = _setting(None, "model revision (hub models)", "--revision")
    batch_cost: Annotated[int, Ge(0)] | None = _setting(
        None, "tokens of padding one more batch must save to be worth it (default per device kind)")
    shard_chars: Positive | None = _setting(None, "characters per store shard (default per device kind)")

    #: the settings recorded in a result's meta that the gate compares (set below, from the fields' ``gated``)
    GATED_KEYS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def of(cls, base: EncoderSettings | None = None, **changes: Any) -> EncoderSettings:
        """``base`` (default: all defaults) with ``changes``; an unknown name is an error that says the known ones."""
        unknown = sorted(set(changes) - set(cls.names()))
        if unknown:
            raise LmkbenchError(f"unknown setting(s) {', '.join(unknown)}{did_you_mean(unknown[0], cls.names())} "
                                f"(known: {', '.join(cls.names())})")
        return dataclasses.replace(base or cls(), **changes)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


EncoderSettings.GATED_KEYS = tuple(f.name for f in dataclasses.fields(EncoderSettings) if f.metadata["gated"])
