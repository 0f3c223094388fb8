"""``--positions``: each method equals an independent computation of its definition (lmkbench.positions).

The independent path never passes position ids: it builds, per text, a model whose position table *is* the
hand-computed sequence of position vectors (row t = the vector token t must get) and runs the raw transformers
model on the hand-built input ids with its default positions. Pooling is done by hand as well (mean, cls, and
the mean of the landmark SEP states).
"""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

P = 32          # position limit of the test model
MAX = 100       # max length read with an extension method (well above P)


@pytest.fixture(scope="module")
def bert_p32(tmp_path_factory, minilm_tokenizer) -> str:
    from transformers import BertConfig, BertModel

    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=minilm_tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=P)
    folder = tmp_path_factory.mktemp("bert_p32")
    BertModel(cfg).eval().save_pretrained(folder)
    minilm_tokenizer.save_pretrained(folder)
    return str(folder)


def _encoder(path, positions, max_length, **kw):
    from lmkbench.encoder import PooledEncoder

    return PooledEncoder(path, positions=positions, max_length=max_length, cache_dir=False, progress=False,
                         device="cpu", **kw)


def _texts(tok):
    words = [w for w in "the cat dog red blue green house tree river stone light water fire wind sun moon".split()
             if len(tok(w, add_special_tokens=False)["input_ids"]) == 1]
    out = []
    for n in (10, P - 2, P, 3 * P, 200):        # content tokens: below, at, just over and far above P
        text = " ".join(words[i % len(words)] for i in range(n))
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert len(ids) == n, "each word is one token"
        out.append(text)
    return out


def _position_vectors(method: str, table: torch.Tensor, L: int, max_length: int) -> torch.Tensor:
    """Row t: the position vector token t of an L-token sequence gets, straight from the definition."""
    limit = table.shape[0]
    t = np.arange(L)
    if L <= limit or method == "native":
        return table[t]
    if method == "gp":
        return table[t // math.ceil(L / limit)]
    if method == "rp":
        return table[t % limit]
    if method == "pi":
        s = max_length / limit
        rows = []
        for j in t:
            lo = math.floor(j / s)
            w = j / s - lo
            rows.append((1 - w) * table[min(lo, limit - 1)].double() + w * table[min(lo + 1, limit - 1)].double())
        return torch.stack(rows).to(table.dtype)
    raise AssertionError(method)


def _reference(path, tok, method, seq_ids: list[int], marks: list[int], pooling: str, max_length: int):
    """Hidden states of one sequence from a raw BertModel whose position table holds the wanted vectors."""
    from transformers import BertModel

    model = BertModel.from_pretrained(path, attn_implementation="eager").eval()
    table = model.embeddings.position_embeddings.weight.detach().clone()
    L = len(seq_ids)
    vectors = _position_vectors(method, table, L, max_length)
    cfg = model.config
    cfg.max_position_embeddings = max(L, 1)
    ref = BertModel(cfg).eval()
    state = {k: v for k, v in model.state_dict().items() if "position" not in k and "token_type_ids" not in k}
    ref.load_state_dict(state, strict=False)
    with torch.no_grad():
        ref.embeddings.position_embeddings.weight.copy_(vectors)
        h = ref(input_ids=torch.tensor([seq_ids])).last_hidden_state[0].double()
    if pooling == "mean":
        v = h.mean(0)
    elif pooling == "cls":
        v = h[0]
    else:
        v = h[marks].mean(0)
    return (v / v.norm()).numpy()


def _sequence(tok, text, pooling, max_length):
    ids = tok(text, add_special_tokens=False)["input_ids"]
    cls, sep = tok.cls_token_id, tok.sep_token_id
    if pooling in ("mean", "cls"):
        seq = [cls] + ids[: max_length - 2] + [sep]
        return seq, []
    seq, marks = [cls], []
    for i in range(0, len(ids), 32):
        chunk = ids[i:i + 32]
        if len(seq) + len(chunk) + 1 > max_length:
            chunk = chunk[: max(0, max_length - len(seq) - 1)]
            if chunk:
                seq += chunk + [sep]
                marks.append(len(seq) - 1)
            break
        seq += chunk + [sep]
        marks.append(len(seq) - 1)
    return seq, marks


@pytest.mark.parametrize("method", ["gp", "rp", "pi"])
def test_method_equals_its_definition(bert_p32, minilm_tokenizer, method):
    tok = minilm_tokenizer
    texts = _texts(tok)
    enc = _encoder(bert_p32, method, MAX)
    out = enc.encode(texts, ["mean", "cls", "lmk"])
    for pooling, key in (("mean", "mean"), ("cls", "cls"), ("lmk", "lmk:g=32")):
        for i, text in enumerate(texts):
            seq, marks = _sequence(tok, text, pooling, MAX)
            want = _reference(bert_p32, tok, method, seq, marks, pooling, MAX)
            got = out.embeddings[key][i]
            cos = float(np.dot(got, want))
            assert cos > 0.99999, (method, pooling, i, len(seq), cos)


@pytest.mark.parametrize("method", ["gp", "rp", "pi"])
def test_short_text_is_bit_identical_to_native(bert_p32, minilm_tokenizer, method):
    texts = _texts(minilm_tokenizer)[:2]                   # both ≤ P tokens with specials
    native = _encoder(bert_p32, "native", P).encode(texts, ["mean", "cls", "lmk"])
    extended = _encoder(bert_p32, method, MAX).encode(texts, ["mean", "cls", "lmk"])
    for key in native.embeddings:
        for i in range(len(texts)):
            one_native = _encoder(bert_p32, "native", P).encode([texts[i]], [key]).embeddings[key][0]
            one_ext = _encoder(bert_p32, method, MAX).encode([texts[i]], [key]).embeddings[key][0]
            assert np.array_equal(one_native, one_ext), (method, key, i)
        np.testing.assert_allclose(native.embeddings[key], extended.embeddings[key], atol=1e-6)


@pytest.mark.parametrize("method", ["gp", "pi"])
def test_results_do_not_depend_on_batch_composition(bert_p32, minilm_tokenizer, method):
    texts = _texts(minilm_tokenizer)
    together = _encoder(bert_p32, method, MAX).encode(texts, ["mean", "lmk"])
    for i, text in enumerate(texts):
        alone = _encoder(bert_p32, method, MAX).encode([text], ["mean", "lmk"])
        for key in alone.embeddings:
            np.testing.assert_allclose(alone.embeddings[key][0], together.embeddings[key][i], atol=2e-5)


def test_pi_widened_table_matches_linear_interpolation():
    from lmkbench.positions import interpolate_table

    table = torch.randn(8, 3, dtype=torch.float64)
    wide = interpolate_table(table, 2.5, 20)
    assert torch.equal(wide[0], table[0]) and torch.equal(wide[5], table[2])       # j/s integer: an original row
    assert torch.allclose(wide[1], 0.6 * table[0] + 0.4 * table[1])
    assert torch.equal(wide[19], table[7])                                            # clamped at P−1


def test_model_is_restored_for_another_method(bert_p32, minilm_tokenizer):
    from lmkbench.models import load_model

    loaded = load_model(bert_p32, progress=False)
    texts = _texts(minilm_tokenizer)[:1]
    before = _encoder(loaded, "native", P).encode(texts, ["mean"]).embeddings["mean"]
    _encoder(loaded, "pi", MAX)
    assert loaded.model.embeddings.position_embeddings.weight.shape[0] == P + MAX
    after = _encoder(loaded, "native", P).encode(texts, ["mean"]).embeddings["mean"]
    assert loaded.model.embeddings.position_embeddings.weight.shape[0] == P
    assert np.array_equal(before, after)


@pytest.mark.parametrize("method", ["ntk:4", "linear:4", "yarn:4"])
def test_rope_methods_equal_a_model_configured_with_them(tiny_modernbert, minilm_tokenizer, method):
    """A RoPE method equals the same weights loaded with those rope parameters in the config (global layers)."""
    from transformers import AutoConfig, AutoModel

    from lmkbench.positions import parse_positions

    texts = ["word " * 300]
    enc = _encoder(tiny_modernbert, method, 400)
    got = enc.encode(texts, ["mean"]).embeddings["mean"][0]
    cfg = AutoConfig.from_pretrained(tiny_modernbert)
    spec = parse_positions(method)
    factor = spec.factor
    full = dict(cfg.rope_parameters["full_attention"])
    if method.startswith("ntk"):
        dim = cfg.hidden_size // cfg.num_attention_heads
        full["rope_theta"] = full["rope_theta"] * factor ** (dim / (dim - 2))
    elif method.startswith("linear"):
        full.update(rope_type="linear", factor=factor)
    else:
        full.update(rope_type="yarn", factor=factor, original_max_position_embeddings=128)
    cfg.rope_parameters = {**cfg.rope_parameters, "full_attention": full}
    ref = AutoModel.from_pretrained(tiny_modernbert, config=cfg, attn_implementation="eager").eval()
    ids = minilm_tokenizer(texts[0], add_special_tokens=False)["input_ids"][:398]
    seq = [minilm_tokenizer.cls_token_id] + ids + [minilm_tokenizer.sep_token_id]
    with torch.no_grad():
        h = ref(input_ids=torch.tensor([seq])).last_hidden_state[0].double().mean(0)
    want = (h / h.norm()).numpy()
    assert float(np.dot(got, want)) > 0.9999
    # the method really changed the global layers' rotary frequencies (or scaling), and only theirs
    native = AutoModel.from_pretrained(tiny_modernbert).eval()
    rot, rot0 = enc.loaded.model.rotary_emb, native.rotary_emb
    changed = (not torch.equal(rot.full_attention_inv_freq, rot0.full_attention_inv_freq)
               or rot.full_attention_attention_scaling != rot0.full_attention_attention_scaling)
    assert changed, "the method must change the global layers' rotary embedding"
    assert torch.equal(rot.sliding_attention_inv_freq, rot0.sliding_attention_inv_freq)


@pytest.mark.parametrize("model_fixture,method,message", [
    ("tiny_modernbert", "gp", "is for absolute position models"),
    ("tiny_modernbert", "pi", "is for absolute position models"),
    ("bert_p32", "ntk:2", "is for rope position models"),
    ("bert_p32", "yarn:2", "is for rope position models"),
    ("bert_p32", "native", "exceeds the model's limit"),
])
def test_method_that_does_not_fit_is_an_error(request, model_fixture, method, message):
    from lmkbench.errors import LmkbenchError

    path = request.getfixturevalue(model_fixture)
    with pytest.raises(LmkbenchError, match=message):
        _encoder(path, method, 300)


def test_absolute_method_below_the_limit_is_an_error_not_a_no_op(bert_p32):
    from lmkbench.errors import LmkbenchError

    with pytest.raises(LmkbenchError, match="changes nothing"):
        _encoder(bert_p32, "gp", P)


def test_cli_bad_method_is_exit_2(bert_p32, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("one text\n")
    for method in ("ntk:2", "bogus"):
        proc = subprocess.run([sys.executable, "-m", "lmkbench", "embed", "--model", bert_p32, "--pooling", "mean",
                               "--positions", method, "--max-length", "64", "--input", str(src), "--output",
                               str(tmp_path / "out.npy"), "--no-cache", "--quiet"], capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "positions" in proc.stderr


def test_recorded_positions_are_the_ones_applied(bert_p32, minilm_tokenizer):
    """describe() says pi at 100 and the forward pass really read the widened table's rows."""
    enc = _encoder(bert_p32, "pi", MAX)
    assert enc.describe()["positions"] == "pi" and enc.describe()["max_length"] == MAX
    seen = []
    table = enc.loaded.model.embeddings.position_embeddings
    handle = table.register_forward_hook(lambda mod, inp, out: seen.append(int(inp[0].max())))
    try:
        enc.encode(_texts(minilm_tokenizer)[-1:], ["mean"])
    finally:
        handle.remove()
    assert seen and max(seen) == MAX - 1
