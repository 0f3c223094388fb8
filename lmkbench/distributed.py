"""Multi-process (multi-GPU) encoding: ranks share the shards of every text set through the embedding store.

Encoding dominates a run, and every shard is encoded independently, so shards are the thing to split.
Under ``torchrun --nproc_per_node N`` each process (rank) builds the same encoder on its own device
(``cuda:LOCAL_RANK``, or the CPU with the gloo backend), and :class:`ShardedEncoder` wraps it:

1. every rank plans the same shards of a text set (they depend on the texts only) and encodes shard ``i``
   when ``i % world_size == rank``, writing it to the store — one folder all ranks see (``--cache-dir`` on a
   shared file system across nodes; without a cache, a temporary folder named by the torchrun job);
2. a barrier; then each rank reads the small per-text arrays of every shard from the store, and search
   streams the corpus embeddings from it. Nothing of the corpus is sent between processes.

Rank 0 evaluates and writes results (:func:`is_main_process`); the others only encode. The numbers equal a
single process's (up to float noise from different batch shapes, ~1e-7): shards are the same texts.

Use: ``encoder = maybe_distributed(encoder)`` — a no-op (returns the encoder itself) outside ``torchrun``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

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


class ShardedEncoder:
    """A :class:`~lmkbench.encoder.PooledEncoder` whose shards are split over all ranks (see the module doc).

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

    def encode(self, texts, poolings, *, desc: str = "encode"):
        return self.inner.encode(texts, poolings, desc=f"{desc} [rank {self.rank}]")

    def encode_set(self, texts, poolings, **kw):
        return self.inner.encode_set(texts, poolings, **kw)


def job_id() -> str:
    """A name every rank of one torchrun job agrees on (for a temporary store they all share)."""
    return os.environ.get("TORCHELASTIC_RUN_ID") or \
        f"{os.environ.get('MASTER_ADDR', 'local')}-{os.environ.get('MASTER_PORT', '0')}"


def _shared_store(encoder) -> None:
    """Ranks must see each other's shards: an in-memory store becomes one temporary folder per job."""
    from .store import DiskStore, MemoryStore

    if isinstance(encoder.store, MemoryStore):
        encoder.store = DiskStore(Path(tempfile.gettempdir()) / f"lmkbench-torchrun-{job_id()}", temporary=True)


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
    import torch.distributed as dist

    _shared_store(encoder)
    encoder.part = (dist.get_rank(), dist.get_world_size())
    encoder.barrier = dist.barrier
    return ShardedEncoder(encoder)
