"""Training pooling specs: a registered evaluation pooling plus an optional set of training intervals.

The LMK paper's best recipe trains with a landmark interval drawn per text from {32, 64, 128, 256} and
evaluates with a fixed g=32. ``train_g`` is a training-only knob, so it is parsed here and never reaches the
pooling registry: ``lmk:train_g=32+64+128+256`` trains with a variable interval and evaluates as
``lmk:g=32`` (the registry's default g); ``lmk:g=64,train_g=64+128`` evaluates with g=64. Without
``train_g`` the training pooling is the evaluation pooling. The list may be written with ``+`` or with
commas (``lmk:train_g=32,64,128,256``); bare numbers after ``train_g`` continue its list.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LmkbenchError
from ..inputs import ChunkedFamily, Family
from ..params import Param, int_list
from ..poolings import POOLINGS, Pooling, make_pooling

#: the one training-only parameter, declared as every other parameter is (lmkbench.params)
TRAIN_G = Param(int_list, (), "landmark intervals drawn per text in training, integers joined by '+'")


@dataclass(frozen=True)
class TrainPooling:
    """``pooling`` is the evaluation pooling (canonical); ``train_g`` the intervals drawn during training."""

    pooling: Pooling
    train_g: tuple[int, ...] = ()

    @property
    def eval_spec(self) -> str:
        return str(self.pooling.spec)

    @property
    def spec(self) -> str:
        """Canonical training spec, e.g. ``lmk:g=32,train_g=32+64+128+256`` (or the eval spec)."""
        if not self.train_g:
            return self.eval_spec
        sep = "," if ":" in self.eval_spec else ":"
        return f"{self.eval_spec}{sep}train_g={'+'.join(map(str, self.train_g))}"

    @property
    def variable(self) -> bool:
        return bool(self.train_g)

    def eval_family(self) -> Family:
        return self.pooling.family()

    def train_families(self, n: int, rng: np.random.Generator) -> tuple[list[Family], list[int | None]]:
        """One input family per text: the evaluation family, or one with a g drawn uniformly from train_g."""
        if not self.train_g:
            fam = self.pooling.family()
            return [fam] * n, [getattr(fam, "g", None)] * n
        draws = rng.choice(np.asarray(self.train_g), size=n).tolist()
        cls = type(self.pooling.family())
        cache: dict[int, Family] = {}
        fams = [cache.setdefault(g, cls(g, "fixed")) for g in draws]
        return fams, draws


def parse_train_pooling(text: str) -> TrainPooling:
    """``lmk:train_g=32+64+128+256`` → TrainPooling(lmk:g=32, (32, 64, 128, 256))."""
    text = str(text).strip()
    name, _, rest = text.partition(":")
    kept: list[str] = []
    train_g: list[int] = []
    current = None
    for item in (p.strip() for p in rest.split(",")) if rest else ():
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq and current == "train_g":
            value, key = item, "train_g"
        elif eq:
            current = key.strip()
        if key.strip() == "train_g":
            try:
                train_g.extend(TRAIN_G.check(value.strip()))
            except ValueError as exc:
                raise LmkbenchError(f"pooling spec {text!r}: bad value for 'train_g' ({TRAIN_G.help}): "
                                    f"{exc}") from None
        else:
            kept.append(item)
    eval_text = name + (":" + ",".join(kept) if kept else "")
    pooling = make_pooling(eval_text)
    if train_g:
        fam = pooling.family()
        if not isinstance(fam, ChunkedFamily) or getattr(fam, "split", "fixed") != "fixed":
            raise LmkbenchError(f"pooling spec {text!r}: train_g needs a fixed-chunk pooling (lmk, multicls), "
                                f"not {pooling.spec}")
        if any(g < 1 for g in train_g):
            raise LmkbenchError(f"pooling spec {text!r}: every train_g must be >= 1")
        train_g = sorted(set(train_g))
    return TrainPooling(pooling, tuple(train_g))


def parse_train_poolings(text: str) -> list[TrainPooling]:
    """Comma-separated training specs; a new spec starts at a registered pooling name."""
    groups: list[list[str]] = []
    for piece in (p.strip() for p in str(text).split(",")):
        if not piece:
            continue
        head = piece.split(":")[0].strip()
        if head in POOLINGS and "=" not in head or not groups:
            groups.append([piece])
        else:
            groups[-1].append(piece)
    out: list[TrainPooling] = []
    for g in groups:
        tp = parse_train_pooling(",".join(g))
        if tp.spec not in [o.spec for o in out]:
            out.append(tp)
    if not out:
        raise LmkbenchError("no pooling given")
    return out
