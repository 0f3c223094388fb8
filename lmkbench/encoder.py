"""The pooled encoder: texts + poolings → L2-normalised embeddings, sharing work wherever inputs agree.

Pipeline per call of :meth:`PooledEncoder.encode`:

1. look every (pooling, text) up in the embedding cache;
2. tokenize the missing texts **once**, without special tokens (content tokens), in tokenizer calls of
   bounded size (the tokenizer's per-token bookkeeping of a long-document corpus stays small);
3. group poolings by input family (``cls``/``mean``/``last``/``mean_every`` share the plain family; each
   ``lmk``/``multicls`` variant has its own) and build each family's sequences;
4. sort sequences by length and cut them into batches under a *token budget* (rows × padded length),
   choosing the cuts that minimise padding plus a per-batch cost (:func:`batches_by_budget`), so short
   texts travel in large batches and long ones in small, with almost no padding;
5. one forward pass per batch (no attention mask where nothing is padded); every pooling of the family
   reads the same hidden states;
6. weighted sums accumulate per text on the device (several windows of one text add up), come back once,
   then are normalised and cached.

``benchmarks/run.py`` measures all of this against sentence-transformers and mteb.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .cache import CacheSlot, default_cache_dir, text_hash
from .errors import LmkbenchError
from .inputs import LONG_POLICIES, Content, Sequence, SpecialTokens, token_sentence_spans
from .models import LoadedModel, load_model
from .poolings import Pooling, make_pooling

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str = "auto") -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise LmkbenchError("--device cuda asked for, but torch sees no CUDA device")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise LmkbenchError(f"unknown device {device!r} (auto|cpu|cuda|cuda:N)")
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    if dtype == "auto":
        if device.startswith("cuda"):
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if dtype not in DTYPES:
        raise LmkbenchError(f"unknown dtype {dtype!r} (auto|fp32|bf16|fp16)")
    if dtype != "fp32" and not device.startswith("cuda"):
        raise LmkbenchError(f"--dtype {dtype} needs a CUDA device; on CPU lmkbench computes in fp32")
    return dtype


@dataclass
class EncodeStats:
    texts: int = 0
    cached: int = 0
    sequences: int = 0
    tokens: int = 0            # real (non-pad) tokens fed to the model
    padded_tokens: int = 0     # rows × padded length, summed over batches
    batches: int = 0
    forward_s: float = 0.0
    tokenize_s: float = 0.0
    per_family_tokens: dict[str, int] = field(default_factory=dict)

    def add(self, other: "EncodeStats") -> None:
        for k in ("texts", "cached", "sequences", "tokens", "padded_tokens", "batches", "forward_s", "tokenize_s"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        for k, v in other.per_family_tokens.items():
            self.per_family_tokens[k] = self.per_family_tokens.get(k, 0) + v

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class Encoded:
    """Result of one :meth:`PooledEncoder.encode` call; arrays are in input order."""

    embeddings: dict[str, np.ndarray]      # canonical pooling → [n, dim] float32, L2-normalised
    token_counts: np.ndarray               # content tokens per text (no special tokens)
    truncated: dict[str, np.ndarray]       # canonical pooling → bool per text (content cut or windowed)
    stats: EncodeStats


def batches_by_budget(lengths: list[int], token_budget: int, max_rows: int = 512, *,
                      batch_cost: int = 0) -> list[list[int]]:
    """Indices cut into batches with rows × longest row ≤ ``token_budget`` (a longer row goes alone) and at
    most ``max_rows`` rows, choosing the cut that minimises padded tokens + ``batch_cost`` per batch.

    Texts are sorted longest first, so an optimal batching is a set of cuts in that order, found exactly
    by dynamic programming (``cost[j] = min_i cost[i] + len[i] · (j − i) + batch_cost``; milliseconds for
    thousands of texts). ``batch_cost`` is the fixed price of one more forward pass, in tokens: 0 gives
    zero padding (equal lengths only), larger values trade a little padding for fewer, larger batches.

    Why: a padded position costs as much as a real one, and on CPU a forward pass costs about the same per
    token from ~128 tokens per batch upwards, so padding is the waste to cut; but each batch also has a
    fixed cost (dispatch, thread synchronisation, larger on a busy machine), which ``batch_cost`` prices.
    A batch with no padding at all also lets SDPA drop the attention mask and take its flash kernel.
    """
    n = len(lengths)
    if n == 0:
        return []
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    sorted_len = np.asarray(lengths, dtype=np.int64)[order]
    best = np.zeros(n + 1)
    cut = np.zeros(n + 1, dtype=np.int64)
    for j in range(1, n + 1):
        # batch = sorted rows i..j-1, as wide as row i; rows i ≥ j - budget // len[j-1] can satisfy the budget
        lo = max(0, j - max_rows, j - max(1, token_budget // max(int(sorted_len[j - 1]), 1)))
        rows = np.arange(j - lo, 0, -1)
        width = sorted_len[lo:j]
        cost = best[lo:j] + width * rows + batch_cost
        cost[(width * rows > token_budget) & (rows > 1)] = np.inf
        k = int(np.argmin(cost))  # first minimum: the largest batch among equal costs
        best[j], cut[j] = cost[k], lo + k
    out: list[list[int]] = []
    j = n
    while j > 0:
        out.append(order[cut[j]:j].tolist())
        j = int(cut[j])
    return out[::-1]


#: batching defaults per device kind: (token budget, batch cost in tokens); see :func:`batches_by_budget`.
#: CPU, measured on 2 cores (160 SciFact abstracts at 512 tokens, sentence-transformers = 1): budget 4096
#: with batch cost 64 → 1.47×, 256 → 1.45× (2 threads, quiet machine; 1 thread: 1.37× and 1.35×);
#: 16384/256 → 1.36×, 16384/0 → 1.29×. 256 keeps fewer batches (15 vs 21 there), which matters on a
#: busy machine where every batch waits for its threads. Sweep: ``python benchmarks/run.py --only sweep``.
#: CUDA (not measured here): larger batches keep the GPU busy, so one more batch must save more padding.
BATCHING = {"cpu": (4096, 256), "cuda": (65536, 4096)}


class PooledEncoder:
    """Encode texts with any registered pooling(s) of one Hugging Face encoder.

    ``max_length`` defaults to the model's own limit; ``long_policy`` is ``truncate`` (right truncation) or
    ``windows`` (consecutive max-length windows pooled together). ``token_budget`` bounds rows × padded
    length of a batch and ``batch_cost`` (tokens) the padding one more batch must save to be worth it
    (see :func:`batches_by_budget`; both default per device kind, :data:`BATCHING`). ``cache_dir=False``
    disables the embedding cache.
    """

    def __init__(self, model: str | LoadedModel, *, device: str = "auto", dtype: str = "auto",
                 max_length: int | None = None, long_policy: str = "truncate", token_budget: int | None = None,
                 cache_dir=None, progress: bool = True, trust_remote_code: bool = False, revision: str | None = None,
                 batch_cost: int | None = None):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        if long_policy not in LONG_POLICIES:
            raise LmkbenchError(f"unknown long-text policy {long_policy!r} ({'|'.join(LONG_POLICIES)})")
        self.long_policy = long_policy
        self.loaded = model if isinstance(model, LoadedModel) else load_model(
            model, device=self.device, trust_remote_code=trust_remote_code, revision=revision, progress=progress)
        if isinstance(model, LoadedModel):
            self.loaded.model.to(self.device)
        limit = self.loaded.max_positions
        if max_length is not None and max_length > limit:
            raise LmkbenchError(f"--max-length {max_length} exceeds the model's limit of {limit} positions; "
                                "use --long windows to cover longer texts")
        self.max_length = int(max_length or limit)
        if self.max_length < 4:
            raise LmkbenchError(f"--max-length must be at least 4, got {self.max_length}")
        budget, cost = BATCHING["cuda" if self.device.startswith("cuda") else "cpu"]
        self.token_budget = max(int(token_budget or budget), self.max_length)
        self.batch_cost = int(cost if batch_cost is None else batch_cost)
        if self.batch_cost < 0:
            raise LmkbenchError(f"batch_cost must be >= 0 tokens, got {self.batch_cost}")
        self.cache_root = None if cache_dir is False else (cache_dir or default_cache_dir())
        self.progress = progress
        self.special = SpecialTokens.from_tokenizer(self.loaded.tokenizer)
        self.total = EncodeStats()

    # -- identity -------------------------------------------------------------------------------------
    def describe(self) -> dict:
        return {"model": self.loaded.name, "model_path": self.loaded.path, "model_identity": self.loaded.identity,
                "device": self.device, "dtype": self.dtype, "max_length": self.max_length,
                "long_policy": self.long_policy, "token_budget": self.token_budget, "batch_cost": self.batch_cost}

    def _slot(self, pooling: Pooling) -> CacheSlot | None:
        if self.cache_root is None:
            return None
        return CacheSlot(self.cache_root, model=self.loaded.identity, pooling=str(pooling.spec),
                         max_length=self.max_length, long_policy=self.long_policy, dtype=self.dtype)

    # -- tokenization ---------------------------------------------------------------------------------
    def tokenize(self, texts: list[str], sentences: bool = False) -> list[Content]:
        """Content tokens of each text (no special tokens; a literal "[SEP]" stays text)."""
        tok = self.loaded.tokenizer
        stripped = [t.strip() for t in texts]
        out: list[Content] = []
        with _quiet_transformers():
            for start, stop in _text_groups(stripped, TOKENIZE_TEXTS, TOKENIZE_CHARS):
                part = stripped[start:stop]
                enc = tok(part, add_special_tokens=False, split_special_tokens=True, return_attention_mask=False,
                          return_token_type_ids=False, return_offsets_mapping=sentences and tok.is_fast,
                          truncation=False, verbose=False)
                for j, ids in enumerate(enc["input_ids"]):
                    spans = None
                    if sentences:
                        if tok.is_fast:
                            spans = token_sentence_spans(part[j], enc["offset_mapping"][j])
                        else:
                            raise LmkbenchError("sentence chunks need a fast tokenizer (offsets)")
                    out.append(Content(list(ids), spans))
        return out

    # -- encoding -------------------------------------------------------------------------------------
    def encode(self, texts: list[str], poolings, *, desc: str = "encode") -> Encoded:
        poolers = [p if isinstance(p, Pooling) else make_pooling(p) for p in poolings]
        names = [str(p.spec) for p in poolers]
        n = len(texts)
        if any(not isinstance(t, str) for t in texts):
            raise LmkbenchError("encode() takes a list of strings")
        stats = EncodeStats(texts=n)
        hashes = [text_hash(t) for t in texts]
        emb: dict[str, np.ndarray | None] = {name: None for name in names}
        trunc: dict[str, np.ndarray] = {name: np.zeros(n, bool) for name in names}
        ntok = np.full(n, -1, np.int64)
        missing: dict[str, np.ndarray] = {}
        slots = {str(p.spec): self._slot(p) for p in poolers}
        for p in poolers:
            name, slot = str(p.spec), slots[str(p.spec)]
            hit = slot.lookup(hashes) if slot else np.zeros(n, bool)
            if hit.any():
                idx = np.flatnonzero(hit)
                e, nt, tr = slot.get([hashes[i] for i in idx])
                emb[name] = np.zeros((n, e.shape[1]), np.float32)
                emb[name][idx] = e
                ntok[idx] = nt
                trunc[name][idx] = tr
                stats.cached += len(idx)
            missing[name] = np.flatnonzero(~hit)

        need = sorted(set().union(*[set(m.tolist()) for m in missing.values()])) if missing else []
        if need:
            t0 = time.perf_counter()
            want_sent = any(p.family().needs_sentences for p in poolers if len(missing[str(p.spec)]))
            contents = dict(zip(need, self.tokenize([texts[i] for i in need], sentences=want_sent)))
            stats.tokenize_s += time.perf_counter() - t0
            for i, c in contents.items():
                ntok[i] = len(c.ids)
            families: dict[str, list[Pooling]] = {}
            for p in poolers:
                if len(missing[str(p.spec)]):
                    families.setdefault(p.family().key, []).append(p)
            for key, members in families.items():
                idx = sorted(set().union(*[set(missing[str(p.spec)].tolist()) for p in members]))
                results = self._encode_family(members, [contents[i] for i in idx], stats, desc)
                for p in members:
                    name = str(p.spec)
                    vecs, tr = results[name]
                    if emb[name] is None:
                        emb[name] = np.zeros((n, vecs.shape[1]), np.float32)
                    emb[name][idx] = vecs
                    trunc[name][idx] = tr
                    slot = slots[name]
                    if slot is not None:
                        m = missing[name]
                        pos = {t: j for j, t in enumerate(idx)}
                        rows = [pos[t] for t in m.tolist()]
                        slot.put([hashes[t] for t in m.tolist()], vecs[rows], ntok[m], tr[rows])
        out = {name: (e if e is not None else np.zeros((0, 0), np.float32)) for name, e in emb.items()}
        self.total.add(stats)
        return Encoded(out, ntok, trunc, stats)

    def _encode_family(self, members: list[Pooling], contents: list[Content], stats: EncodeStats, desc: str):
        family = members[0].family()
        seqs: list[Sequence] = []
        owner: list[int] = []
        truncated = np.zeros(len(contents), bool)
        for i, c in enumerate(contents):
            built, cut = family.build(c, self.special, self.max_length, self.long_policy)
            truncated[i] = cut
            seqs.extend(built)
            owner.extend([i] * len(built))
        lengths = [len(s.ids) for s in seqs]
        owner_t = torch.as_tensor(owner, dtype=torch.long)
        # Weighted sums and weights per text accumulate on the device (float64: many windows of one text
        # add up without loss) and come back once at the end: no host sync per batch.
        weighers: dict[str, Pooling] = {str(p.spec): p for p in members}
        if any(p.falls_back_to_mean for p in members) and _MEAN not in weighers:
            weighers[_MEAN] = make_pooling("mean")
        sums: dict[str, torch.Tensor] = {}
        weights: dict[str, torch.Tensor] = {}
        model = self.loaded.model
        batches = batches_by_budget(lengths, self.token_budget, batch_cost=self.batch_cost)
        bar = _progress(total=sum(lengths), desc=f"{desc} [{family.key}]", enabled=self.progress)
        autocast = (torch.autocast("cuda", dtype=DTYPES[self.dtype]) if self.device.startswith("cuda") and self.dtype != "fp32"
                    else contextlib.nullcontext())
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
            rows = owner_t[batch].to(self.device)
            with torch.inference_mode():
                with autocast:
                    # no mask at all when nothing is padded: SDPA may then take its flash kernel
                    out = model(input_ids=ids_t, attention_mask=attn_t.long() if padded else None)
                h = out.last_hidden_state.float()
                if not sums:
                    shape = (len(contents), h.shape[-1])
                    sums = {k: torch.zeros(shape, dtype=torch.float64, device=self.device) for k in weighers}
                    weights = {k: torch.zeros(len(contents), dtype=torch.float64, device=self.device) for k in weighers}
                for name, p in weighers.items():
                    w = p.weights(attn_t, marks_t)
                    sums[name].index_add_(0, rows, torch.bmm(w.unsqueeze(1), h).squeeze(1).double())
                    weights[name].index_add_(0, rows, w.sum(1).double())
            stats.batches += 1
            stats.padded_tokens += width * len(batch)
            bar.update(sum(lengths[i] for i in batch))
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        stats.forward_s += time.perf_counter() - t0
        bar.close()
        real = sum(lengths)
        stats.sequences += len(seqs)
        stats.tokens += real
        stats.per_family_tokens[family.key] = stats.per_family_tokens.get(family.key, 0) + real
        host_sums = {k: v.cpu().numpy() for k, v in sums.items()}
        host_w = {k: v.cpu().numpy() for k, v in weights.items()}
        results = {}
        for p in members:
            name = str(p.spec)
            s, w = host_sums[name], host_w[name]
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
            results[name] = (vec, truncated.copy())
        return results


_MEAN = "mean"  # the masked mean, kept alongside poolings that fall back to it


#: one tokenizer call takes at most this many texts / characters: the fast tokenizer keeps every token's
#: string, offsets and masks until the call returns, so a bounded call bounds that memory (long documents)
TOKENIZE_TEXTS = 256
TOKENIZE_CHARS = 1_000_000


def _text_groups(texts: list[str], max_texts: int, max_chars: int):
    """Consecutive ``(start, stop)`` ranges holding ≤ max_texts texts and ≤ max_chars characters (≥ 1 text)."""
    start, chars = 0, 0
    for i, t in enumerate(texts):
        if i > start and (i - start >= max_texts or chars + len(t) > max_chars):
            yield start, i
            start, chars = i, 0
        chars += len(t)
    if start < len(texts):
        yield start, len(texts)


@contextlib.contextmanager
def _quiet_transformers():
    lg = logging.getLogger("transformers.tokenization_utils_base")
    old = lg.level
    lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        lg.setLevel(old)


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="tok", unit_scale=True, disable=not enabled, leave=False)
