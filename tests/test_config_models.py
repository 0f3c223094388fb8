"""Config files through pydantic models: one InputError with file, line and field (and a "did you mean") for
an unknown key or a wrong type in a task file, a suite or a leaderboard config; exit 2 without a traceback."""
from __future__ import annotations

import textwrap

import pytest

from lmkbench.cli import main
from lmkbench.configs import StrictModel, model_of, read_yaml, validate
from lmkbench.errors import InputError
from lmkbench.leaderboard import load_config
from lmkbench.settings import EncoderSettings
from lmkbench.tasks.catalogue import read_task_file


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


TASK = "{name: a, loader: beir, group: short-retrieval, params: {path: x}"


@pytest.mark.parametrize("text,where,message", [
    (f"tasks:\n  - {TASK}, licence: MIT}}\n", ":2: field 'licence'", "unknown key (did you mean 'license'?)"),
    (f"tasks:\n  - {TASK}}}\nsuite:\n  name: s\n  tasks: [a]\n  descripton: x\n", ":6: field 'descripton'",
     "did you mean 'description'?"),
    (f"task:\n  - {TASK}}}\n", ":1: field 'task'", "did you mean 'tasks'?"),
    (f"tasks:\n  - {TASK}, mteb: {{task: T, splt: test}}}}\n", ":2: field 'mteb.splt'", "did you mean 'split'?"),
    (f"tasks:\n  - {TASK}, size: 3}}\n", ":2: field 'size'", "expected a mapping, got 3"),
    ("tasks:\n  - name: a\n    loader: beir\n    group: short-retrieval\n    main_metric: 10\n",
     ":5: field 'main_metric'", "expected a string, got 10"),
    ("defaults: {loader: beir, group: short-retrieval}\ntasks:\n  - name: 7\n", ":3: field 'name'", "expected a string"),
    ("tasks:\n  - name: x_{n}\n    loader: passkey\n    group: synthetic\n    for_each:\n      n: []\n",
     ":6: field 'for_each.n'", "at least 1 item"),
    ("suite: {name: s, tasks: [a, 3]}\n", ":1: field 'tasks[1]'", "expected a string, got 3"),
    ("tasks: [3]\n", ":1: field 'tasks[0]'", "expected a mapping, got 3"),
])
def test_task_file_errors_name_file_line_and_field(tmp_path, text, where, message):
    path = _write(tmp_path, "bad.yaml", text)
    with pytest.raises(InputError) as info:
        read_task_file(path)
    assert f"{path}{where}: " in str(info.value) and message in str(info.value)


LB = "models: [minilm]\npoolings: [mean]\ntasks: [x]\n"


@pytest.mark.parametrize("text,where,message", [
    (LB + "rankng: {}\n", "lb.yaml:4: field 'rankng'", "did you mean 'ranking'?"),
    (LB + "settings:\n  max_len: 3\n", "lb.yaml:5: field 'settings.max_len'", "did you mean 'max_length'?"),
    ("models:\n  - minilm\n  - {model: m2, devise: cpu}\npoolings: [mean]\ntasks: [x]\n",
     "lb.yaml:3: field 'models[1].devise'", "did you mean 'device'?"),
    (LB + "settings:\n  trust_remote_code: 1\n", "lb.yaml:5: field 'settings.trust_remote_code'",
     "expected true or false, got 1"),
    (LB + "settings:\n  max_length: '512'\n", "lb.yaml:5: field 'settings.max_length'", "expected an integer, got '512'"),
    (LB + "settings:\n  long_policy: wide\n", "lb.yaml:5: field 'settings.long_policy'",
     "expected 'truncate' or 'windows', got 'wide'"),
    (LB + "settings:\n  token_budget: 0\n", "lb.yaml:5: field 'settings.token_budget'", "greater than 0"),
    (LB + "settings:\n  cache_dir: 3\n", "lb.yaml:5: field 'settings.cache_dir'", "expected a string or False, got 3"),
    ("models: [3]\npoolings: [mean]\ntasks: [x]\n", "lb.yaml:1: field 'models[0]'", "a model name or a mapping"),
    (LB + "on_error: maybe\n", "lb.yaml:4: field 'on_error'", "expected 'stop' or 'skip', got 'maybe'"),
])
def test_leaderboard_errors_name_file_line_and_field(tmp_path, text, where, message):
    with pytest.raises(InputError) as info:
        load_config(_write(tmp_path, "lb.yaml", text))
    assert where in str(info.value) and message in str(info.value)


def test_leaderboard_settings_validate_into_encoder_settings(tmp_path):
    cfg = load_config(_write(tmp_path, "lb.yaml", """\
        models:
          - minilm
          - {model: other, long_policy: windows, shard_texts: 64}
        poolings: [mean]
        tasks: [x]
        settings: {max_length: 128, dtype: fp32, cache_dir: cache}
        """))
    first, second = (m.encoder() for m in cfg.models)
    assert first == EncoderSettings(max_length=128, dtype="fp32", cache_dir="cache")
    assert second == EncoderSettings(max_length=128, dtype="fp32", cache_dir="cache", long_policy="windows",
                                     shard_texts=64)
    assert cfg.models[0].encoder(device="cpu").device == "cpu"       # `lmkbench leaderboard --device cpu`


def test_the_config_mirror_has_every_setting():
    assert tuple(model_of(EncoderSettings).model_fields) == EncoderSettings.names()


def test_a_union_is_one_message_and_the_line_is_the_key(tmp_path):
    class Doc(StrictModel):
        where: str | int | None = None

    path = _write(tmp_path, "d.yaml", "\n\nwhere: [1]\n")
    with pytest.raises(InputError) as info:
        validate(Doc, read_yaml(path), file=path, prefix="top")
    assert str(info.value) == f"{path}:3: field 'top.where': expected a string or an integer, got a list"


def test_bad_config_on_the_command_line_is_exit_2_without_traceback(tmp_path, capsys):
    lb = _write(tmp_path, "lb.yaml", LB + "settings: {max_lenght: 3}\n")
    assert main(["leaderboard", "--config", str(lb), "--no-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lb.yaml:4: field 'settings.max_lenght': unknown key (did you mean 'max_length'?)" in err[0]
    (tmp_path / "tasks").mkdir()
    tasks = _write(tmp_path, "tasks/bad.yaml", f"tasks:\n  - {TASK}, colour: red}}\n")
    assert main(["tasks", "--tasks-dir", str(tasks.parent)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml:2: field 'colour': unknown key" in err[0] and "Traceback" not in err[0]


def test_a_misspelled_loader_parameter_in_a_task_file_names_file_line_and_field(tmp_path):
    path = _write(tmp_path, "t.yaml", """\
        tasks:
          - name: a
            loader: beir
            group: short-retrieval
            params:
              path: x
              splitt: test
        """)
    with pytest.raises(InputError) as info:
        read_task_file(path)
    err = info.value
    assert (err.file, err.line, err.field) == (path, 5, "params.splitt")
    assert "did you mean 'split'?" in str(err) and f"{path}:5: field 'params.splitt'" in str(err)
