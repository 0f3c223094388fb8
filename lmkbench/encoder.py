"""The pooled encoder: text sets + poolings → L2-normalised embeddings in a durable store, in bounded shards.

A text set streams through :meth:`PooledEncoder.encode_set` in *shards* (consecutive texts, at most
``shard_texts`` texts and ``shard_chars`` characters — an upper bound on content tokens for WordPiece and BPE
tokenizers, known before tokenizing, so a rerun finds its shards without tokenizing again). Per shard:

1. hash its texts; if every pooling's shard is in the embedding store (and verifies), reuse it and go on;
2. tokenize the shard once, without special tokens (content tokens as int32 arrays), in tokenizer calls of
   bounded size;
3. group poolings by input family (``cls``/``mean``/``last``/``mean_every`` share the plain family; each
   ``lmk``/``multicls`` variant has its own) and build each family's sequences;
4. sort sequences by length and cut them into batches under a *token budget* (rows × padded length),
   choosing the cuts that minimise padding plus a per-batch cost (:func:`~lmkbench.batching.batches_by_budget`);
5. one forward pass per batch (no attention mask where nothing is padded); every pooling of the family
   reads the same hidden states; weighted sums accumulate per text of the shard on the device (windows of
   one text add up);
6. normalise and **write the shard to the store** (atomic files, checksummed manifest last), free it.

Memory is one shard's tokens, sequences and accumulators, whatever the size of the set; a kill at any moment
loses at most the shard in flight. :meth:`PooledEncoder.encode` is the in-memory convenience over it.
``benchmarks/run.py`` measures all of this against sentence-transformers and mteb.
"""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from .batching import BATCHING, SHARDING, batches_by_budget, plan_shards
from .devices import DTYPES, autocast_for, bf16_speedup, cpu_supports_bf16, device_kind, resolve_device, resolve_dtype
from .errors import LmkbenchError
from .inputs import IDS, LONG_POLICIES, Content, Sequence, SpecialTokens, token_sentence_spans
from .models import LoadedModel, load_model
from .poolings import Pooling, make_pooling
from .positions import parse_positions
from .settings import EncoderSettings
from .store import MemoryStore, code_digest, open_store, shard_stem, text_hash
from .stored import StoredEmbeddings
from .strategies import add_unit_sums, aggregate, text_layout

#: the public names, including those that moved to devices, batching and stored and stay importable from here
#: (tests, benchmarks, train/ and commands/ import them from this module)
__all__ = ["PooledEncoder", "Encoded", "EncodedSet", "EncodeStats", "StoredEmbeddings", "content_ids",
           "content_token_counts", "batches_by_budget", "plan_shards", "BATCHING", "SHARDING", "DTYPES",
           "resolve_device", "resolve_dtype", "cpu_supports_bf16", "bf16_speedup", "autocast_for"]

log = logging.getLogger(__name__)


@dataclass
class EncodeStats:
    texts: int = 0
    cached: int = 0            # (pooling, text) pairs served from the store
    sequences: int = 0
    tokens: int = 0            # real (non-pad) tokens fed to the model
    padded_tokens: int = 0     # rows × padded length, summed over batches
    batches: int = 0
    shards: int = 0            # shards of the set (this process's share under torchrun)
    shards_reused: int = 0     # of those, found complete in the store
    forward_s: float = 0.0
    tokenize_s: float = 0.0
    per_family_tokens: dict[str, int] = field(default_factory=dict)
    chunks: dict[str, int] = field(default_factory=dict)   # strategy → chunks pooled (encoded, not reused)
    #: what the encoding of the reused shards cost when it ran (recorded in their manifests; a family counted
    #: once per shard, and only where none of its poolings was encoded again)
    reused_tokens: int = 0
    reused_padded_tokens: int = 0
    reused_forward_s: float = 0.0
    reused_per_family_tokens: dict[str, int] = field(default_factory=dict)
    reused_per_family_s: dict[str, float] = field(default_factory=dict)
    reused_devices: dict[str, int] = field(default_factory=dict)   # device → family shards encoded there

    def add(self, other: "EncodeStats") -> None:
        for k, v in other.__dict__.items():
            if isinstance(v, dict):
                mine = getattr(self, k)
                for key, t in v.items():
                    mine[key] = mine.get(key, 0) + t
            else:
                setattr(self, k, getattr(self, k) + v)

    def as_dict(self) -> dict:
        return {k: _rounded(v) for k, v in self.__dict__.items()}


def _rounded(v):
    """Seconds to the millisecond, inside dicts too (the stats go into result files)."""
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    return round(v, 3) if isinstance(v, float) else v


@dataclass
class Encoded:
    """Result of one :meth:`PooledEncoder.encode` call; arrays are in input order, in memory."""

    #: canonical pooling → float32 L2-normalised rows: ``[n, dim]``, one per text, except for a multi-vector
    #: strategy (agg=max): one per chunk, ``[rows, dim]``, with the text of each row in ``owners``
    embeddings: dict[str, np.ndarray]
    token_counts: np.ndarray               # content tokens per text (no special tokens)
    truncated: dict[str, np.ndarray]       # canonical pooling → bool per text: content cut (lost)
    stats: EncodeStats
    split: dict[str, np.ndarray] = field(default_factory=dict)  # pooling → bool: encoded as several windows
    #: multi-vector strategies (``chunk``/``late`` with agg=max): pooling → text index of each row
    owners: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class EncodedSet:
    """What :meth:`PooledEncoder.encode_set` returns: stored embeddings per pooling plus per-text arrays."""

    embeddings: dict[str, StoredEmbeddings]
    token_counts: np.ndarray               # int32 content tokens per text
    cut: dict[str, np.ndarray]             # pooling → bool per text: content lost to truncation
    split: dict[str, np.ndarray]           # pooling → bool per text: encoded as several windows (nothing lost)
    stats: EncodeStats

    def in_memory(self) -> Encoded:
        return Encoded({k: v.array() for k, v in self.embeddings.items()}, self.token_counts.astype(np.int64),
                       self.cut, self.stats, self.split,
                       {k: v.owners() for k, v in self.embeddings.items() if v.multi})


class PooledEncoder:
    """Encode texts with any registered pooling(s) of one Hugging Face encoder.

    ``max_length`` defaults to the checkpoint's own default (sentence-transformers' ``max_seq_length`` where it
    declares one) or else the model's position limit; ``long_policy`` is ``truncate`` (right truncation) or
    ``windows`` (consecutive max-length windows pooled together). ``token_budget`` bounds rows × padded
    length of a batch and ``batch_cost`` (tokens) the padding one more batch must save to be worth it
    (see :func:`~lmkbench.batching.batches_by_budget`; both default per device kind, :data:`~lmkbench.batching.BATCHING`). ``shard_texts`` and
    ``shard_chars`` bound a shard (:data:`~lmkbench.batching.SHARDING`). ``cache_dir`` is the embedding store's folder (default
    ``$LMKBENCH_CACHE`` or ``~/.cache/lmkbench``); ``cache_dir=False`` keeps shards in memory instead (the
    Python API); an unwritable folder gives a warning and a temporary store. ``store`` passes a store object
    (:mod:`lmkbench.store`) instead. These settings are an :class:`~lmkbench.settings.EncoderSettings`
    (``settings``), changed by keyword arguments of the same names; ``progress`` and ``store`` are not settings.
    """

    def __init__(self, model: str | LoadedModel, settings: EncoderSettings | None = None, *, progress: bool = True,
                 store=None, **changes):
        s = EncoderSettings.of(settings, **changes)       # keyword arguments: EncoderSettings fields
        self.settings = s
        self.device = resolve_device(s.device)
        self.dtype = resolve_dtype(s.dtype, self.device)
        if s.long_policy not in LONG_POLICIES:
            raise LmkbenchError(f"unknown long-text policy {s.long_policy!r} ({'|'.join(LONG_POLICIES)})")
        self.long_policy = s.long_policy
        self.loaded = model if isinstance(model, LoadedModel) else load_model(
            model, device=self.device, trust_remote_code=s.trust_remote_code, revision=s.revision, progress=progress)
        if isinstance(model, LoadedModel):
            self.loaded.model.to(self.device)
        limit = self.loaded.max_positions
        max_length = s.max_length
        self.positions = parse_positions(s.positions)
        default = getattr(self.loaded, "default_max_length", None)
        if max_length is not None:
            self.max_length, self.max_length_source = int(max_length), "--max-length"
        elif default:
            self.max_length = int(min(default, limit))
            self.max_length_source = getattr(self.loaded, "default_max_length_source", "") or "checkpoint default"
        else:
            self.max_length, self.max_length_source = int(limit), "model position limit"
        if self.max_length < 4:
            raise LmkbenchError(f"--max-length must be at least 4, got {self.max_length}")
        self.positions.check(self.loaded.model, limit, self.max_length)
        self.positions.install(self.loaded.model, limit, self.max_length)
        kind = device_kind(self.device)
        budget, cost = BATCHING[kind]
        self.token_budget = max(int(s.token_budget or budget), self.max_length)
        self.batch_cost = int(cost if s.batch_cost is None else s.batch_cost)
        if self.batch_cost < 0:
            raise LmkbenchError(f"batch_cost must be >= 0 tokens, got {self.batch_cost}")
        texts_default, chars_default = SHARDING[kind]
        self.shard_texts = int(s.shard_texts or texts_default)
        self.shard_chars = int(s.shard_chars or max(chars_default, self.shard_texts))
        if self.shard_texts < 1:
            raise LmkbenchError(f"--shard-size must be at least 1 text, got {self.shard_texts}")
        self.store = store or (MemoryStore() if s.cache_dir is False else open_store(s.cache_dir))
        self.progress = progress
        self.special = SpecialTokens.from_tokenizer(self.loaded.tokenizer)
        self.total = EncodeStats()
        #: this process's share of the shards, and a barrier once they are all written (torchrun; see distributed)
        self.part: tuple[int, int] = (0, 1)
        self.barrier = None

    # -- identity -------------------------------------------------------------------------------------
    def describe(self) -> dict:
        return {"model": self.loaded.name, "model_path": self.loaded.path, "model_identity": self.loaded.identity,
                "device": self.device, "dtype": self.dtype, "max_length": self.max_length,
                "max_length_source": self.max_length_source, "position_limit": self.loaded.max_positions,
                "positions": str(self.positions), "attention": getattr(self.loaded, "attention", None),
                "long_policy": self.long_policy, "token_budget": self.token_budget, "batch_cost": self.batch_cost,
                "shard_texts": self.shard_texts, "shard_chars": self.shard_chars, "code_digest": code_digest()}

    def content_budget(self, pooling) -> int | str:
        """Content tokens one text may have and be read whole with ``pooling`` at this max length (its specials
        and marks take the rest); ``"all"`` where nothing is ever cut (``--long windows``, chunk strategies),
        ``"per sentence count"`` where it depends on the text (sentence chunks). Recorded in each result's meta."""
        family = (pooling if isinstance(pooling, Pooling) else make_pooling(pooling)).family()
        if self.long_policy == "windows" or family.covers_all:
            return "all"
        budget = family.content_budget(self.max_length, self.special)
        return "per sentence count" if budget is None else budget

    @property
    def label(self) -> str:
        """The model label results are filed under: the checkpoint's, ``~variant`` for settings asked for
        (:func:`lmkbench.labels.label_for`: ``minilm``, ``minilm~pi-4096``), so settings never collide."""
        from .labels import label_for

        return label_for(self.loaded.label, self.settings)

    def _slot(self, pooling: Pooling):
        """The store slot of ``pooling``: keyed by the checkpoint's identity, the pooling and the settings that
        change a vector (:data:`lmkbench.system.VECTOR_SETTINGS`, the list a result's system holds too)."""
        from .system import VECTOR_SETTINGS

        described = {"max_length": self.max_length, "long_policy": self.long_policy, "dtype": self.dtype,
                     "positions": str(self.positions)}
        return self.store.slot(model=self.loaded.identity, pooling=str(pooling.spec),
                               **{k: described[k] for k in VECTOR_SETTINGS}, multi=pooling.multi_vector)

    # -- tokenization ---------------------------------------------------------------------------------
    def tokenize(self, texts: list[str], sentences: bool = False) -> list[Content]:
        """Content tokens of each text (no special tokens; a literal "[SEP]" stays text), as int32 arrays."""
        tok = self.loaded.tokenizer
        if sentences and not tok.is_fast:
            raise LmkbenchError("sentence chunks need a fast tokenizer (offsets)")
        return [Content(np.asarray(ids, dtype=IDS), token_sentence_spans(text, offsets) if sentences else None)
                for text, ids, offsets in content_ids(tok, texts, offsets=sentences)]

    # -- encoding -------------------------------------------------------------------------------------
    def encode(self, texts: list[str], poolings, *, desc: str = "encode") -> Encoded:
        """Embed ``texts`` with every pooling in ``poolings`` (specs or :class:`Pooling` objects).

        Returns an :class:`Encoded` with, per canonical pooling string, a float32 array of L2-normalised
        embeddings in input order (``[n, dim]``; a multi-vector strategy, agg=max, gives one row per chunk and
        the text of each row in ``Encoded.owners``), plus content-token counts and cut/split flags per text.
        Texts stream through the store in shards (:meth:`encode_set`); this call then loads the arrays.
        """
        if isinstance(texts, str) or any(not isinstance(t, str) for t in texts):
            raise LmkbenchError("encode() takes a list of strings")
        if isinstance(self.store, MemoryStore):  # no cache: every call computes, and frees the previous call's shards
            self.store = MemoryStore()
        return self.encode_set(texts, poolings, desc=desc).in_memory()

    def encode_set(self, texts: Iterable[str], poolings, *, n: int | None = None, desc: str = "encode") -> EncodedSet:
        """Stream a text set through the store, shard by shard; return handles to the stored embeddings.

        ``texts`` may be any iterable (a generator over a corpus file): only the shard in flight is held.
        ``n`` (the number of texts, when ``texts`` has no ``len``) sizes the progress bar.
        """
        poolers = [p if isinstance(p, Pooling) else make_pooling(p) for p in poolings]
        names = [str(p.spec) for p in poolers]
        slots = {name: self._slot(p) for name, p in zip(names, poolers)}
        rank, world = self.part
        stats = EncodeStats()
        shards: list[tuple[str, int]] = []
        total = n if n is not None else (len(texts) if hasattr(texts, "__len__") else None)
        bar = _progress(total=total, desc=desc, enabled=self.progress)
        t_start = time.perf_counter()
        for index, shard in enumerate(plan_shards(texts, self.shard_texts, self.shard_chars)):
            if any(not isinstance(t, str) for t in shard):
                raise LmkbenchError("encode_set() takes strings")
            stem = shard_stem([text_hash(t) for t in shard])
            shards.append((stem, len(shard)))
            stats.texts += len(shard)
            if index % world != rank:  # another torchrun rank encodes this shard
                continue
            stats.shards += 1
            todo = [p for p, name in zip(poolers, names) if not slots[name].has(stem)]
            stats.cached += len(shard) * (len(poolers) - len(todo))
            _add_reused_cost(stats, [p for p in poolers if p not in todo], todo, slots, stem)
            shown = bar.n
            if todo:      # the bar moves after every batch: a shard of long texts takes minutes
                self._encode_shard(shard, todo, {str(p.spec): slots[str(p.spec)] for p in todo}, stem, stats,
                                   tick=_shard_ticker(bar, len(shard)))
            else:
                stats.shards_reused += 1
            bar.update(shown + len(shard) - bar.n)
            elapsed = max(time.perf_counter() - t_start, 1e-9)
            bar.set_postfix_str(f"{stats.tokens / elapsed / 1000:.1f}k tok/s, {stats.shards_reused} shards reused",
                                refresh=False)
        bar.close()
        if self.barrier is not None:
            self.barrier()
        if stats.shards_reused:
            log.info("%s: reused %d of %d shards from the %s", desc, stats.shards_reused, stats.shards,
                     self.store.describe())
        self.total.add(stats)
        multi = {name: p.multi_vector for name, p in zip(names, poolers)}
        return EncodedSet(*self._collect(slots, shards, multi), stats=stats)

    def _collect(self, slots: dict, shards: list[tuple[str, int]], multi: dict[str, bool]):
        """Per-text arrays of every shard (small), and a :class:`StoredEmbeddings` per pooling."""
        ntok = np.zeros(sum(r for _, r in shards), np.int32)
        cut = {name: np.zeros(len(ntok), bool) for name in slots}
        split = {name: np.zeros(len(ntok), bool) for name in slots}
        emb = {}
        for name, slot in slots.items():
            at, dim, vectors = 0, 0, 0
            for stem, rows in shards:
                if not slot.has(stem):
                    raise LmkbenchError(f"store shard {stem} of pooling {name} is missing after encoding "
                                        f"(a store shared by torchrun ranks must be one folder all of them see, "
                                        f"with room on its disk: a rank whose disk filled keeps shards in memory)")
                ntok[at:at + rows] = slot.read(stem, "ntok")
                cut[name][at:at + rows] = slot.read(stem, "cut")
                split[name][at:at + rows] = slot.read(stem, "split")
                shape = slot.read(stem, "emb", mmap=True).shape
                dim, vectors = dim or int(shape[1]), vectors + int(shape[0])
                at += rows
            emb[name] = StoredEmbeddings(slot, shards, dim, multi=multi[name], vectors=vectors)
        return emb, ntok, cut, split

    def _encode_shard(self, texts: list[str], poolers: list[Pooling], slots: dict, stem: str,
                      stats: EncodeStats, tick=None) -> None:
        """``tick(share)``, when given, hears after every batch what share of the shard's work (0..1) it did."""
        t0 = time.perf_counter()
        want_sent = any(p.family().needs_sentences for p in poolers)
        contents = self.tokenize(texts, sentences=want_sent)
        stats.tokenize_s += time.perf_counter() - t0
        ntok = np.fromiter((len(c.ids) for c in contents), np.int32, len(contents))
        families: dict[str, list[Pooling]] = {}
        for p in poolers:
            families.setdefault(p.family().key, []).append(p)
        for members in families.values():
            results, cost = self._encode_family(members, contents, stats,
                                                tick and (lambda share: tick(share / len(families))))
            for name, (vecs, cut, split, owner) in results.items():
                arrays = {"emb": vecs, "ntok": ntok, "cut": cut, "split": split}
                if owner is not None:
                    arrays["owner"] = owner
                slots[name].write(stem, arrays, cost=cost)

    def _encode_family(self, members: list[Pooling], contents: list[Content], stats: EncodeStats, tick=None):
        family = members[0].family()
        seqs: list[Sequence] = []
        owner: list[int] = []
        over = np.zeros(len(contents), bool)
        for i, c in enumerate(contents):
            built, beyond = family.build(c, self.special, self.max_length, self.long_policy)
            over[i] = beyond
            seqs.extend(built)
            owner.extend([i] * len(built))
        windows = self.long_policy == "windows" or family.covers_all
        cut, split = (np.zeros_like(over), over) if windows else (over, np.zeros_like(over))
        lengths = [len(s.ids) for s in seqs]
        # Weighted sums and weights per text of this shard accumulate on the device (float64: many windows of
        # one text add up without loss) and come back once per shard: no host sync per batch.
        weighers: dict[str, Pooling] = {str(p.spec): p for p in members}
        if any(p.falls_back_to_mean for p in members) and _MEAN not in weighers:
            weighers[_MEAN] = make_pooling("mean")
        # where each sequence (or position) adds up: one unit per text, or per chunk for the strategies
        layouts = {name: (p.layout(seqs, owner, len(contents), self.special) if p.is_strategy
                          else text_layout(owner, len(contents))) for name, p in weighers.items()}
        seq_rows = {name: torch.as_tensor(lay.seq_unit, dtype=torch.long) for name, lay in layouts.items()
                    if lay.seq_unit is not None}
        sums: dict[str, torch.Tensor] = {}
        weights: dict[str, torch.Tensor] = {}
        model = self.loaded.model
        batches = batches_by_budget(lengths, self.token_budget, batch_cost=self.batch_cost)
        padded_tokens = 0
        t0 = time.perf_counter()
        for batch in batches:
            width = lengths[batch[0]]  # longest first within a batch
            padded = any(lengths[i] != width for i in batch)
            ids = np.full((len(batch), width), self.special.pad, np.int64)
            attn = np.zeros((len(batch), width), bool)
            marks = np.zeros((len(batch), width), bool)
            for r, i in enumerate(batch):
                s = seqs[i]
                ids[r, : len(s.ids)] = s.ids
                attn[r, : len(s.ids)] = True
                marks[r, s.marks] = True
            ids_t = torch.from_numpy(ids).to(self.device)
            attn_t = torch.from_numpy(attn).to(self.device)
            marks_t = torch.from_numpy(marks).to(self.device)
            extra = self._position_inputs([lengths[i] for i in batch], width)
            with torch.inference_mode():
                with autocast_for(self.device, self.dtype):
                    # no mask at all when nothing is padded: SDPA may then take its flash kernel
                    out = model(input_ids=ids_t, attention_mask=attn_t.long() if padded else None, **extra)
                h = out.last_hidden_state.float()
                if not sums:
                    sums = {k: torch.zeros((len(lay.unit_owner), h.shape[-1]), dtype=torch.float64,
                                           device=self.device) for k, lay in layouts.items()}
                    weights = {k: torch.zeros(len(lay.unit_owner), dtype=torch.float64, device=self.device)
                               for k, lay in layouts.items()}
                for name, p in weighers.items():
                    w = p.weights(attn_t, marks_t)
                    if name in seq_rows:
                        rows = seq_rows[name][batch].to(self.device)
                        sums[name].index_add_(0, rows, torch.bmm(w.unsqueeze(1), h).squeeze(1).double())
                        weights[name].index_add_(0, rows, w.sum(1).double())
                    else:  # late chunking: every position adds to its chunk's unit (pads carry no weight)
                        units = np.zeros((len(batch), width), np.int64)
                        for r, i in enumerate(batch):
                            u = layouts[name].pos_units[i]
                            units[r, : len(u)], units[r, len(u):] = u, u[0]
                        add_unit_sums(sums[name], weights[name], h, w, torch.from_numpy(units).to(self.device))
            stats.batches += 1
            padded_tokens += width * len(batch)
            if tick is not None:
                tick(sum(lengths[i] for i in batch) / max(sum(lengths), 1))
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        forward_s = time.perf_counter() - t0
        real = sum(lengths)
        stats.forward_s += forward_s
        stats.padded_tokens += padded_tokens
        stats.sequences += len(seqs)
        stats.tokens += real
        stats.per_family_tokens[family.key] = stats.per_family_tokens.get(family.key, 0) + real
        # what this family's encoding of the shard cost, kept in the manifest of each of its poolings' shards
        cost = {"tokens": int(real), "padded_tokens": int(padded_tokens), "forward_s": round(forward_s, 6),
                "device": self.device, "dtype": self.dtype}
        host_sums = {k: v.cpu().numpy() for k, v in sums.items()}
        host_w = {k: v.cpu().numpy() for k, v in weights.items()}
        results = {}
        for p in members:
            name = str(p.spec)
            s, w = host_sums[name], host_w[name]
            lay = layouts[name]
            vec = np.zeros_like(s)
            ok = w > 0
            vec[ok] = s[ok] / w[ok, None]
            if (~ok).any():
                if p.falls_back_to_mean:
                    m, mw = host_sums[_MEAN], host_w[_MEAN]
                    vec[~ok] = m[~ok] / np.maximum(mw[~ok, None], 1e-12)
                else:
                    raise LmkbenchError(f"pooling {name} produced no weight for {int((~ok).sum())} text(s)")
            norms = np.linalg.norm(vec, axis=1, keepdims=True)
            vec = (vec / np.maximum(norms, 1e-12)).astype(np.float32)
            rows_out, row_owner = aggregate(vec, lay.unit_owner, len(contents), p.agg)
            if p.is_strategy:
                stats.chunks[name] = stats.chunks.get(name, 0) + len(lay.unit_owner)
            results[name] = (rows_out, cut, split, row_owner)
        return results, cost

    def _position_inputs(self, lengths: list[int], width: int) -> dict:
        """Position ids (per sequence, from its own length) and zero token types for the positions method."""
        pos = self.positions.position_ids(np.asarray(lengths), width, self.loaded.max_positions)
        if pos is None:
            return {}
        extra = {"position_ids": torch.from_numpy(pos).to(self.device)}
        if self.positions.zero_token_types:
            extra["token_type_ids"] = torch.zeros((len(lengths), width), dtype=torch.long, device=self.device)
        return extra


_MEAN = "mean"  # the masked mean, kept alongside poolings that fall back to it


def _add_reused_cost(stats: EncodeStats, reused: list[Pooling], encoded: list[Pooling], slots: dict,
                     stem: str) -> None:
    """Add to ``stats`` what the reused shards' encoding cost when it ran, once per input family (its poolings
    share one forward pass and record the same cost) and only for families not encoded again now."""
    again = {p.family().key for p in encoded}
    seen: set[str] = set()
    for p in reused:
        key = p.family().key
        if key in again or key in seen:
            continue
        cost = slots[str(p.spec)].cost(stem)
        if cost is None:     # a shard written without one (not by the encoder, which always records it)
            continue
        seen.add(key)
        stats.reused_tokens += cost["tokens"]
        stats.reused_padded_tokens += cost["padded_tokens"]
        stats.reused_forward_s += cost["forward_s"]
        stats.reused_per_family_tokens[key] = stats.reused_per_family_tokens.get(key, 0) + cost["tokens"]
        stats.reused_per_family_s[key] = stats.reused_per_family_s.get(key, 0.0) + cost["forward_s"]
        stats.reused_devices[cost["device"]] = stats.reused_devices.get(cost["device"], 0) + 1


#: one tokenizer call takes at most this many texts / characters: the fast tokenizer keeps every token's
#: string, offsets and masks until the call returns, so a bounded call bounds that memory (long documents)
TOKENIZE_TEXTS = 256
TOKENIZE_CHARS = 1_000_000


def content_ids(tokenizer, texts, offsets: bool = False):
    """``(stripped text, content ids, offsets or None)`` per text, in bounded tokenizer calls (texts may stream):
    no special tokens, and a literal "[SEP]" in a text stays text."""
    for group in plan_shards((t.strip() for t in texts), TOKENIZE_TEXTS, TOKENIZE_CHARS):
        with _quiet_transformers():
            enc = tokenizer(group, add_special_tokens=False, split_special_tokens=True, return_attention_mask=False,
                            return_token_type_ids=False, return_offsets_mapping=offsets, truncation=False,
                            verbose=False)
        for j, ids in enumerate(enc["input_ids"]):
            yield group[j], ids, enc["offset_mapping"][j] if offsets else None


def content_token_counts(tokenizer, texts) -> np.ndarray:
    """Content tokens (no special tokens) of each text, in bounded tokenizer calls; texts may stream."""
    return np.fromiter((len(ids) for _, ids, _ in content_ids(tokenizer, texts)), np.int32)


@contextlib.contextmanager
def _quiet_transformers():
    lg = logging.getLogger("transformers.tokenization_utils_base")
    old = lg.level
    lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        lg.setLevel(old)


def _shard_ticker(bar, texts: int):
    """Advance ``bar`` by whole texts as shares (0..1) of a shard of ``texts`` texts are reported done."""
    start, done = bar.n, [0.0]

    def tick(share: float) -> None:
        done[0] += share * texts
        bar.update(min(int(done[0]), texts) - (bar.n - start))
    return tick


def _progress(total: int | None, desc: str, enabled: bool):
    """One bar per text set, across its shards: texts done, ETA, and tokens/s in the postfix."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="text", unit_scale=True, disable=not enabled, leave=False)
