"""Position methods: how an encoder reads texts longer than its position table (``--positions``).

Training-free context extensions as LongEmbed (Zhu et al. 2024, dwzhu-pku/LongEmbed) defines them, one small
registered class each. ``P`` is the model's position limit, ``L`` a sequence's length in tokens (special tokens
included), ``t`` a token's index in its sequence:

* ``native`` (default): positions ``t``; a max length past ``P`` is refused.
* absolute learned positions (BERT, RoBERTa, ...):

  - ``gp`` (grouped positions): ``t // ceil(L / P)``, per sequence (never per batch, so a result does not depend
    on batch composition);
  - ``rp`` (recurrent positions): ``t mod P``;
  - ``pi`` (linear position interpolation): with ``s = max_length / P`` the table is widened to ``P·s`` rows,
    row ``j = (1−w)·E[⌊j/s⌋] + w·E[min(⌊j/s⌋+1, P−1)]``, ``w = j/s − ⌊j/s⌋``; sequences with ``L > P`` use rows
    ``t``, sequences with ``L ≤ P`` their native rows ``E[t]`` (LongEmbed's ``t·s``, exact even where ``s`` is
    not an integer).

* rotary positions (ModernBERT, RoPE encoders), through the model's rope parameters (transformers'
  ``rope_parameters``): ``ntk:factor=F`` (NTK-aware: the rotary base ``θ`` becomes ``θ·F^(d/(d−2))``, static,
  so a vector never depends on the longest text of its batch, unlike transformers' dynamic NTK), ``linear:factor=F``
  (position interpolation, transformers' ``linear``), ``yarn:factor=F`` (transformers' ``yarn``). Each allows
  max lengths up to ``P·F``. Only global layers are rescaled: a sliding-window layer (ModernBERT's local
  attention) only sees distances inside its window, which it was trained on.

A sequence with ``L ≤ P`` is encoded exactly as under ``native`` by every absolute method (the rope methods
change the rotary frequencies of every sequence: that is their definition). BERT's ``token_type_ids`` buffer
stops at ``P``: non-native methods pass zeros. A method that does not fit the architecture (``gp`` on a RoPE
model, ``ntk`` on BERT) is an error, never a silent no-op.

``--long windows`` (consecutive max-length windows pooled together) is lmkbench's counterpart of LongEmbed's
parallel context windows (PCW); they differ in that PCW cuts 510-token pieces whose last piece is the *last*
510 tokens (overlapping the one before) and averages the piece embeddings, while ``windows`` cuts
non-overlapping windows and pools over every token / landmark of all windows together (``cls``: the mean of the
windows' CLS states).
"""
from __future__ import annotations

import copy
import math
from typing import ClassVar

import numpy as np
import torch

from .errors import LmkbenchError
from .params import to_finite_float
from .specs import Param, Registry, Spec

POSITIONS: Registry = Registry("positions method")

#: model types whose learned position ids start after the padding index (RoBERTa-style)
_OFFSET_TYPES = ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl", "data2vec-text")


def architecture(model) -> str:
    """``absolute`` (a learned position table), ``rope`` (rotary positions) or ``other``."""
    emb = getattr(model, "embeddings", None)
    table = getattr(emb, "position_embeddings", None)
    cfg = model.config
    if isinstance(table, torch.nn.Embedding) and getattr(cfg, "position_embedding_type", "absolute") in (None, "absolute"):
        return "absolute"
    if getattr(cfg, "rope_parameters", None) or getattr(cfg, "rope_theta", None):
        return "rope"
    return "other"


def config_architecture(config: dict) -> str | None:
    """``rope`` or ``absolute`` from a ``config.json`` (rope parameters present; else a learned absolute table),
    None where it does not say (a model with remote code...)."""
    if any("rope" in key for key in config):
        return "rope"
    if config.get("max_position_embeddings") and config.get("position_embedding_type", "absolute") in (None, "absolute"):
        return "absolute"
    return None


def check_against_config(method: "str | PositionMethod", folder, max_length: int | None) -> None:
    """Refuse, from the model folder's ``config.json`` (and ``tokenizer_config.json``'s ``model_max_length``)
    alone, a positions method that does not fit the model or a ``max_length`` it cannot reach: what
    :meth:`PositionMethod.check` refuses once the model is loaded, checked before any loading or training. A
    folder without a readable config (a hub name) is left to the later check."""
    import json
    from pathlib import Path

    method = parse_positions(method) if not isinstance(method, PositionMethod) else method
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    limit = config.get("max_position_embeddings") if isinstance(config, dict) else None
    if not isinstance(limit, int) or limit <= 0:
        return
    model_type = str(config.get("model_type", "?"))
    if model_type in _OFFSET_TYPES:
        limit -= position_offset_of(config)
    try:
        tok = json.loads((Path(folder) / "tokenizer_config.json").read_text(encoding="utf-8"))
        tmax = tok.get("model_max_length")
        if isinstance(tmax, int) and 0 < tmax < limit:
            limit = tmax
    except (OSError, ValueError, AttributeError):
        pass
    method.check_fit(config_architecture(config), model_type, limit, limit if max_length is None else max_length)


def position_offset_of(config: dict) -> int:
    """:func:`position_offset` from a ``config.json``."""
    return int(config.get("pad_token_id", 1)) + 1 if config.get("model_type", "") in _OFFSET_TYPES else 0


def position_offset(model) -> int:
    """Index of position 0 in the table: ``padding_idx + 1`` for RoBERTa-style models, else 0."""
    if getattr(model.config, "model_type", "") in _OFFSET_TYPES:
        return int(getattr(model.config, "pad_token_id", 1)) + 1
    return 0


class PositionMethod:
    """One way of assigning positions; ``install`` adapts the model, ``position_ids`` gives ids per batch."""

    #: architecture the method fits: ``any``, ``absolute`` or ``rope``
    fits: ClassVar[str] = "any"

    def __init__(self, spec: Spec):
        self.spec = spec
        self.offset = 0

    def __str__(self) -> str:
        return str(self.spec)

    @property
    def native(self) -> bool:
        return self.spec.name == "native"

    def max_positions(self, limit: int) -> int | None:
        """Longest sequence this method reads (None: no limit)."""
        return limit

    def check(self, model, limit: int, max_length: int) -> None:
        """One clear error where the method does not fit the model or the length."""
        self.check_fit(architecture(model), getattr(model.config, "model_type", "?"), limit, max_length)

    def check_fit(self, arch: str | None, model_type: str, limit: int, max_length: int) -> None:
        """:meth:`check` from what a model's ``config.json`` says (``arch`` None: not known, not checked), so a
        command can refuse before it loads or trains anything (:func:`check_against_config`)."""
        if arch is not None and self.fits != "any" and arch != self.fits:
            fitting = ", ".join(e.name for e in POSITIONS if e.obj.fits in (arch, "any"))
            raise LmkbenchError(f"--positions {self.spec.name} is for {self.fits} position models; "
                                f"{model_type} uses {arch} positions (methods that fit: {fitting})")
        most = self.max_positions(limit)
        if most is not None and max_length > most:
            if self.native:
                raise LmkbenchError(
                    f"--max-length {max_length} exceeds the model's limit of {limit} positions; use --long windows, "
                    f"or a positions method: {', '.join(_methods_for(arch))}")
            raise LmkbenchError(f"--max-length {max_length} exceeds what --positions {self.spec} reaches "
                                f"({most} positions); raise its factor")
        if self.fits == "absolute" and max_length <= limit and arch == "absolute":
            raise LmkbenchError(f"--positions {self.spec.name} changes nothing at --max-length {max_length} "
                                f"(the model has {limit} positions): give a --max-length above {limit}")

    def install(self, model, limit: int, max_length: int) -> None:
        """Adapt ``model`` (restoring what another method changed first)."""
        restore_native(model)

    def position_ids(self, lengths: np.ndarray, width: int, limit: int) -> np.ndarray | None:
        """``[rows, width]`` int64 position ids (indices into the position table), or None for the default."""
        return None

    @property
    def zero_token_types(self) -> bool:
        """Pass explicit zero ``token_type_ids`` (BERT's buffer stops at the position limit)."""
        return False

    def describe(self) -> dict:
        return {"positions": str(self.spec)}


def _methods_for(arch: str) -> list[str]:
    return [e.name for e in POSITIONS if e.obj.fits == arch] or ["none fits this architecture"]


@POSITIONS.register("native")
class Native(PositionMethod):
    """positions 0 … L−1, as the model was trained; a max length past the limit is refused"""


class _Absolute(PositionMethod):
    fits = "absolute"

    def max_positions(self, limit):
        return None

    def install(self, model, limit, max_length):
        restore_native(model)
        self.offset = position_offset(model)

    @property
    def zero_token_types(self):
        return True

    def position_ids(self, lengths, width, limit):
        t = np.arange(width, dtype=np.int64)[None, :]
        lengths = np.asarray(lengths, np.int64)[:, None]
        ids = self._ids(t, lengths, limit)
        return np.where(t < lengths, ids, 0) + self.offset

    def _ids(self, t: np.ndarray, lengths: np.ndarray, limit: int) -> np.ndarray:
        raise NotImplementedError


@POSITIONS.register("gp")
class Grouped(_Absolute):
    """grouped positions (LongEmbed GP): token t gets position t // ceil(L / P), per sequence"""

    def _ids(self, t, lengths, limit):
        return t // np.maximum(1, -(-lengths // limit))


@POSITIONS.register("rp")
class Recurrent(_Absolute):
    """recurrent positions (LongEmbed RP): token t gets position t mod P"""

    def _ids(self, t, lengths, limit):
        return t % limit


@POSITIONS.register("pi")
class Interpolated(_Absolute):
    """linear position interpolation (LongEmbed PI): the table widened to max_length rows, native rows for L ≤ P"""

    rows = 0

    def install(self, model, limit, max_length):
        super().install(model, limit, max_length)
        emb = model.embeddings
        native = emb.position_embeddings
        weight = native.weight.detach()
        table = weight[self.offset:self.offset + limit].double()
        self.rows = int(max_length)
        widened = interpolate_table(table, self.rows / limit, self.rows)
        new = torch.cat([weight[:self.offset], widened.to(weight.dtype), weight[self.offset:self.offset + limit]])
        module = torch.nn.Embedding(new.shape[0], new.shape[1], device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            module.weight.copy_(new)
        module.weight.requires_grad_(False)
        emb._lmkbench_native_positions = native
        emb.position_embeddings = module

    def check(self, model, limit, max_length):
        super().check(model, limit, max_length)
        weight = model.embeddings.position_embeddings.weight
        # the widened table in float64, cast, concatenated: about three copies of max_length rows
        need = int(max_length) * weight.shape[1] * (8 + 2 * weight.element_size())
        free = free_memory(weight.device)
        if free is not None and need > free:
            raise LmkbenchError(f"--max-length {max_length} with --positions pi needs a {max_length}-row position "
                                f"table (about {need / 2**30:.1f} GiB), more than the {free / 2**30:.1f} GiB of "
                                f"free memory on {weight.device}; give a smaller --max-length")

    def _ids(self, t, lengths, limit):
        # rows 0..max_length-1 hold the widened table; rows max_length.. the native table (exact for L ≤ P)
        return np.where(lengths > limit, t, self.rows + t)


def free_memory(device) -> int | None:
    """Bytes free on ``device`` (CUDA: the driver's count; CPU: the system's available memory), None if unknown."""
    device = torch.device(device)
    try:
        if device.type == "cuda":
            return int(torch.cuda.mem_get_info(device)[0])
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, RuntimeError, AttributeError):
        return None


def interpolate_table(table: torch.Tensor, s: float, rows: int) -> torch.Tensor:
    """Row ``j`` of ``rows``: ``(1−w)·E[⌊j/s⌋] + w·E[min(⌊j/s⌋+1, P−1)]``, ``w = j/s − ⌊j/s⌋`` (float64 in, out)."""
    limit = table.shape[0]
    j = torch.arange(rows, dtype=torch.float64)
    x = j / s
    lo = torch.clamp(torch.floor(x).long(), max=limit - 1)
    hi = torch.clamp(lo + 1, max=limit - 1)
    w = (x - torch.floor(x)).unsqueeze(1)
    return (1 - w) * table[lo] + w * table[hi]


class _Rope(PositionMethod):
    """Rotary methods: new rope parameters, the model's rotary-embedding modules rebuilt from them."""

    fits = "rope"

    @property
    def factor(self) -> float:
        return float(self.spec.get("factor"))

    def max_positions(self, limit):
        most = limit * self.factor
        if not math.isfinite(most):
            raise LmkbenchError(f"--positions {self.spec}: the factor is too large ({limit} positions × F is not a "
                                "finite number); give a smaller factor")
        return int(math.floor(most))

    def check(self, model, limit, max_length):
        super().check(model, limit, max_length)
        if not _rotary_modules(model):
            raise LmkbenchError(f"--positions {self.spec}: found no rotary-embedding module in "
                                f"{type(model).__name__} to rescale")

    def install(self, model, limit, max_length):
        restore_native(model)
        cfg = model.config
        model._lmkbench_native_rope = copy.deepcopy(cfg.rope_parameters)
        params = cfg.rope_parameters
        nested = all(isinstance(v, dict) for v in params.values()) and params
        # local (sliding-window) layers only ever see distances inside their window: left as trained
        for kind, p in (params.items() if nested else [("", params)]):
            if p is not None and kind != "sliding_attention":
                self.rescale(p, cfg, limit)
        _rebuild_rotary(model)

    def rescale(self, params: dict, cfg, limit: int) -> None:
        raise NotImplementedError


@POSITIONS.register("ntk", params={"factor": Param(to_finite_float, 2.0, "context extension factor", gt=1)})
class NTK(_Rope):
    """NTK-aware RoPE scaling (static): rotary base θ·F^(d/(d−2)), lengths up to P·F"""

    def check(self, model, limit, max_length):
        super().check(model, limit, max_length)
        theta = _rope_theta(model.config)
        if theta is not None:
            self.scaled_base(theta, _rotary_dim(model.config))

    def scaled_base(self, theta: float, dim: int) -> float:
        """``θ·F^(d/(d−2))``; a factor so large that the base is no longer a finite float is one clear error."""
        try:
            out = theta * self.factor ** (dim / (dim - 2))
        except OverflowError:
            out = math.inf
        if not math.isfinite(out):
            raise LmkbenchError(f"--positions {self.spec}: the factor is too large (the rotary base "
                                f"{theta:g}·F^({dim}/{dim - 2}) overflows a float); give a smaller factor")
        return out

    def rescale(self, params, cfg, limit):
        params["rope_theta"] = self.scaled_base(float(params["rope_theta"]), _rotary_dim(cfg))


@POSITIONS.register("linear", params={"factor": Param(to_finite_float, 2.0, "context extension factor", gt=1)})
class LinearRope(_Rope):
    """linear RoPE interpolation (transformers rope_type linear): positions divided by F"""

    def rescale(self, params, cfg, limit):
        params.update(rope_type="linear", factor=self.factor)


@POSITIONS.register("yarn", params={"factor": Param(to_finite_float, 2.0, "context extension factor", gt=1)})
class Yarn(_Rope):
    """YaRN RoPE scaling (transformers rope_type yarn), original length P"""

    def rescale(self, params, cfg, limit):
        params.update(rope_type="yarn", factor=self.factor, original_max_position_embeddings=limit)


def _rope_theta(cfg) -> float | None:
    """The largest rotary base among the model's rope parameters (flat, or one set per attention kind)."""
    params = getattr(cfg, "rope_parameters", None) or {}
    sets = params.values() if params and all(isinstance(v, dict) for v in params.values()) else [params]
    thetas = [float(p["rope_theta"]) for p in sets if p and p.get("rope_theta") is not None]
    theta = max(thetas) if thetas else getattr(cfg, "rope_theta", None)
    return None if theta is None else float(theta)


def _rotary_dim(cfg) -> int:
    head = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    return int(head * float(getattr(cfg, "partial_rotary_factor", 1.0) or 1.0))


def _rotary_modules(model) -> list[tuple[torch.nn.Module, str, torch.nn.Module]]:
    out = []
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child).__name__.endswith("RotaryEmbedding"):
                out.append((parent, name, child))
    return out


def _rebuild_rotary(model) -> None:
    for parent, name, child in _rotary_modules(model):
        device = next((b.device for b in child.buffers()), None)
        setattr(parent, name, type(child)(model.config, device=device))


def restore_native(model) -> None:
    """Undo what a method installed (a model shared by encoders with other methods)."""
    emb = getattr(model, "embeddings", None)
    native = getattr(emb, "_lmkbench_native_positions", None) if emb is not None else None
    if native is not None:
        emb.position_embeddings = native
        del emb._lmkbench_native_positions
    rope = getattr(model, "_lmkbench_native_rope", None)
    if rope is not None:
        model.config.rope_parameters = rope
        del model._lmkbench_native_rope
        _rebuild_rotary(model)


def parse_positions(text: str | Spec | PositionMethod) -> PositionMethod:
    """``native``, ``gp``, ``rp``, ``pi``, ``ntk:4`` (= ``ntk:factor=4``), ``linear:factor=8``, ``yarn:2`` → a method."""
    if isinstance(text, PositionMethod):
        return text
    text = str(text).strip()
    name, colon, rest = text.partition(":")
    if colon and rest.strip() and "=" not in rest:
        text = f"{name}:factor={rest.strip()}"
    spec = POSITIONS.parse(text)
    return POSITIONS.entry(spec.name).obj(spec)


def canonical_positions(text: str) -> str:
    return str(parse_positions(text).spec)
