"""``lmkbench embed``: several poolings → several arrays equal to the encoder's, ids beside them, BEIR titles."""
from __future__ import annotations

import json

import numpy as np

from lmkbench.cli import main


def test_embed_several_poolings_titles_and_ids(tiny_bert, tmp_path, capsys):
    from lmkbench.encoder import PooledEncoder

    rows = [{"_id": "d1", "title": "Solar", "text": "panels on roofs"}, {"_id": "d2", "title": "", "text": "no title"},
            {"_id": "d3", "text": "a row without a title field"}]
    src = tmp_path / "corpus.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "corpus.npy"
    assert main(["embed", "--model", tiny_bert, "--pooling", "cls,mean", "--input", str(src), "--output", str(out),
                 "--no-cache", "--quiet"]) == 0
    assert (tmp_path / "corpus.ids.txt").read_text() == "d1\nd2\nd3\n"
    got = {p: np.load(tmp_path / f"corpus.{p}.npy") for p in ("cls", "mean")}
    ref = PooledEncoder(tiny_bert, cache_dir=False, progress=False).encode(
        ["Solar panels on roofs", "no title", "a row without a title field"], ["cls", "mean"])
    for p in ("cls", "mean"):
        assert got[p].shape == (3, 32) and np.allclose(got[p], ref.embeddings[p], atol=1e-6)
    assert not np.allclose(got["cls"], got["mean"])
    assert main(["embed", "--model", tiny_bert, "--pooling", "mean", "--no-title", "--input", str(src),
                 "--output", str(tmp_path / "plain.npy"), "--no-cache", "--quiet"]) == 0
    plain = np.load(tmp_path / "plain.npy")
    assert np.allclose(plain[1:], got["mean"][1:], atol=1e-6) and not np.allclose(plain[0], got["mean"][0])


def test_embed_default_pooling_is_the_trained_one_and_ids_must_be_unique(tiny_bert, tmp_path, capsys):
    import shutil

    model = tmp_path / "m"
    shutil.copytree(tiny_bert, model)
    (model / "lmkbench.json").write_text(json.dumps({"pooling": "mean"}))
    txt = tmp_path / "t.txt"
    txt.write_text("one\ntwo\n")
    assert main(["embed", "--model", str(model), "--input", str(txt), "--output", str(tmp_path / "e.npy"),
                 "--no-cache", "--quiet"]) == 0
    assert "mean: wrote 2 × 32" in capsys.readouterr().out and (tmp_path / "e.ids.txt").read_text() == "1\n2\n"
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    assert main(["embed", "--model", str(model), "--input", str(dup), "--output", str(tmp_path / "d.npy")]) == 2
    assert "duplicate id 'a'" in capsys.readouterr().err


def test_maxp_rows_come_with_their_owners(tiny_bert, tmp_path):
    import numpy as np

    from lmkbench.cli import main

    src = tmp_path / "docs.txt"
    src.write_text("short text\n" + " ".join(f"word{i}" for i in range(150)) + "\nanother short one\n")
    out = tmp_path / "emb.npy"
    assert main(["embed", "--model", tiny_bert, "--pooling", "chunk:size=32,pool=mean,agg=max", "--input", str(src),
                 "--output", str(out), "--max-length", "64", "--device", "cpu", "--no-cache", "--quiet"]) == 0
    emb, owner = np.load(out), np.load(tmp_path / "emb.owner.npy")
    assert len(emb) == len(owner) > 3 and sorted(set(owner.tolist())) == [0, 1, 2]
    assert np.all(np.diff(owner) >= 0) and (owner == 1).sum() > 1     # the long text has several chunks
