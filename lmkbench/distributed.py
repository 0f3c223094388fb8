"""Multi-process (multi-GPU) encoding: shard a corpus across ``torchrun`` processes, gather, go on as one.

Encoding dominates a run, and every text is encoded independently, so the corpus is the thing to split.
Under ``torchrun --nproc_per_node N`` each process (rank) builds the same encoder on its own device
(``cuda:LOCAL_RANK``, or the CPU with the gloo backend), and :class:`ShardedEncoder` wraps it:

1. every rank orders the texts the same way — by character length, then position — and takes every
   ``world_size``-th text of that order, so each shard holds a similar mix of short and long texts
   (similar work, similar padding inside the inner encoder's length-sorted batches);
2. each rank encodes its shard with the ordinary :class:`~lmkbench.encoder.PooledEncoder` (cache included:
   shards are written by every rank under unique names, so ranks never overwrite each other);
3. ``all_gather_object`` brings every shard to every rank, which puts the rows back in input order.

Every rank then holds the same :class:`~lmkbench.encoder.Encoded` as a single process would (up to float
noise from different batch shapes, ~1e-7), evaluates it, and rank 0 alone writes results
(:func:`is_main_process`). Evaluation is cheap next to encoding, so it is not split.

Use: ``encoder = maybe_distributed(encoder)`` — a no-op (returns the encoder itself) outside ``torchrun``.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .encoder import Encoded, EncodeStats
from .errors import LmkbenchError


def world() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the environment ``torchrun`` sets (``(0, 1, 0)`` otherwise)."""
    def env(name: str, default: int) -> int:
        try:
            return int(os.environ.get(name, default))
        except ValueError:
            raise LmkbenchError(f"environment variable {name}={os.environ[name]!r} is not an integer") from None

    return env("RANK", 0), env("WORLD_SIZE", 1), env("LOCAL_RANK", 0)


def is_distributed() -> bool:
    return world()[1] > 1


def is_main_process() -> bool:
    """True on rank 0 and in a plain single process: the one that writes files and prints summaries."""
    return world()[0] == 0


def init_distributed(device: str = "cpu", backend: str | None = None) -> bool:
    """Join the process group ``torchrun`` describes (once). nccl for CUDA devices, gloo for the CPU."""
    import torch
    import torch.distributed as dist

    rank, size, local = world()
    if size <= 1:
        return False
    if not dist.is_available():
        raise LmkbenchError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        backend = backend or ("nccl" if device.startswith("cuda") else "gloo")
        dist.init_process_group(backend=backend, rank=rank, world_size=size)
    return True


def shard_order(texts: list[str], rank: int, world_size: int) -> list[int]:
    """Indices of the texts rank ``rank`` encodes: every ``world_size``-th of the length-sorted order."""
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    return order[rank::world_size]


class ShardedEncoder:
    """A :class:`~lmkbench.encoder.PooledEncoder` whose :meth:`encode` splits the texts over all ranks.

    Every other attribute (``loaded``, ``device``, ``max_length``, ``tokenize``, ...) is the inner encoder's.
    """

    def __init__(self, inner, group=None):
        import torch.distributed as dist

        if not dist.is_initialized():
            raise LmkbenchError("ShardedEncoder needs an initialised process group (use maybe_distributed)")
        self.inner = inner
        self.group = group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (e.g. during copying): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def describe(self) -> dict:
        import torch.distributed as dist

        return {**self.inner.describe(), "distributed": {"world_size": self.world_size,
                                                         "backend": str(dist.get_backend(self.group))}}

    def encode(self, texts: list[str], poolings, *, desc: str = "encode") -> Encoded:
        import torch.distributed as dist

        mine = shard_order(texts, self.rank, self.world_size)
        part = self.inner.encode([texts[i] for i in mine], poolings, desc=f"{desc} [rank {self.rank}]")
        payload = (mine, part.embeddings, part.token_counts, part.truncated, part.stats.as_dict())
        gathered: list = [None] * self.world_size
        dist.all_gather_object(gathered, payload, group=self.group)
        return _assemble(len(texts), gathered)


def _assemble(n: int, gathered: list) -> Encoded:
    """Put every rank's rows back in input order and add up the statistics."""
    names = list(gathered[0][1])
    dims = {name: max(p[1][name].shape[1] for p in gathered if len(p[0])) if n else 0 for name in names}
    emb = {name: np.zeros((n, dims[name]), np.float32) for name in names}
    trunc = {name: np.zeros(n, bool) for name in names}
    ntok = np.full(n, -1, np.int64)
    stats = EncodeStats()
    for idx, e, nt, tr, st in gathered:
        if len(idx):
            rows = np.asarray(idx)
            for name in names:
                emb[name][rows] = e[name]
                trunc[name][rows] = tr[name]
            ntok[rows] = nt
        part = EncodeStats(**{k: v for k, v in st.items() if k != "per_family_tokens"})
        part.per_family_tokens = dict(st.get("per_family_tokens", {}))
        stats.add(part)
    stats.texts = n
    return Encoded(emb, ntok, trunc, stats)


def maybe_distributed(encoder, backend: str | None = None):
    """Outside ``torchrun`` (WORLD_SIZE unset or 1): ``encoder`` itself. Inside: join the process group, move
    the model to this rank's GPU (``cuda:LOCAL_RANK``) when it runs on CUDA, and wrap it in a
    :class:`ShardedEncoder`."""
    if isinstance(encoder, ShardedEncoder) or not is_distributed():
        return encoder
    _, _, local = world()
    device = str(encoder.device)
    if device.startswith("cuda"):
        import torch

        if local >= torch.cuda.device_count():
            raise LmkbenchError(f"torchrun started process LOCAL_RANK={local}, but this node has only "
                                f"{torch.cuda.device_count()} CUDA device(s): use --nproc_per_node <= that")
        target = f"cuda:{local}"
        if device != target:
            encoder.loaded.model.to(target)
            encoder.device = target
    init_distributed(str(encoder.device), backend)
    return ShardedEncoder(encoder)
