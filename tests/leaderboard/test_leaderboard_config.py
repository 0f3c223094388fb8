"""Leaderboard config: defaults, per-model settings, and errors that name file, line and field."""
from __future__ import annotations

from pathlib import Path

import pytest

from lmkbench.errors import InputError
from lmkbench.leaderboard import load_config

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path, text):
    path = tmp_path / "lb.yaml"
    path.write_text(text)
    return path


def test_example_config_loads():
    cfg = load_config(REPO / "configs" / "leaderboard-example.yaml")
    assert [m.model for m in cfg.models] == ["minilm"]
    assert cfg.models[0].poolings == ["cls", "mean", "lmk:g=32"]
    assert cfg.task_specs == ["bbc_retrieval", "bbc_classification", "bbc_clustering"]
    assert cfg.ranking == {"test": "ttest", "correction": "holm", "alpha": 0.05}


def test_defaults_and_per_model_overrides(tmp_path):
    cfg = load_config(_write(tmp_path, """
models:
  - minilm
  - {model: other/model, poolings: [lmk:g=64], max_length: 256}
poolings: [mean, cls]
suites: [default]
settings: {max_length: 512, device: cpu}
"""))
    assert cfg.results == Path("runs") and cfg.out == Path("runs/leaderboard") and cfg.on_error == "stop"
    assert cfg.models[0].poolings == ["mean", "cls"] and cfg.models[0].settings == {"max_length": 512, "device": "cpu"}
    assert cfg.models[1].poolings == ["lmk:g=64"] and cfg.models[1].settings == {"max_length": 256, "device": "cpu"}
    assert cfg.task_specs == ["suite:default"]


@pytest.mark.parametrize("text,where", [
    ("models: [minilm]\npoolings: [mean]\ntasks: [x]\nbogus: 1\n", "lb.yaml:4: field 'bogus'"),
    ("models: []\npoolings: [mean]\ntasks: [x]\n", "lb.yaml:1: field 'models'"),
    ("models: [minilm]\npoolings: [nope]\ntasks: [x]\n", "lb.yaml:2: field 'poolings'"),
    ("models: [minilm]\npoolings: [mean]\n", "field 'tasks'"),
    ("models: [minilm]\npoolings: [mean]\ntasks: [x]\nsettings:\n  max_length: long\n", "lb.yaml:5: field 'settings.max_length'"),
    ("models:\n  - minilm\n  - {model: m2, colour: red}\npoolings: [mean]\ntasks: [x]\n", "lb.yaml:3: field 'models[1].colour'"),
    ("models:\n  - {poolings: [mean]}\ntasks: [x]\n", "field 'models[0].model'"),
    ("models: [minilm]\ntasks: [x]\n", "field 'models[0].poolings'"),
    ("models: [minilm]\npoolings: [mean]\ntasks: [x]\nranking:\n  test: coin\n", "lb.yaml:5: field 'ranking.test'"),
    ("models: [minilm]\npoolings: [mean]\ntasks: [x]\nranking: {alpha: 2}\n", "field 'ranking.alpha'"),
    ("models: [minilm\n", "malformed YAML"),
])
def test_errors_name_line_and_field(tmp_path, text, where):
    with pytest.raises(InputError) as exc:
        load_config(_write(tmp_path, text))
    assert where in str(exc.value)
