"""Issue 28: a suite variant with a bad positions spec, or a task glob that matches none of the suite's tasks, is
an error naming the suite file and line (it was "variant skipped", exit 0, or nothing at all)."""
from __future__ import annotations

import pytest

from lmkbench.errors import InputError
from lmkbench.settings import EncoderSettings


def _suite(tmp_path, variant: str):
    f = tmp_path / "s.yaml"
    f.write_text("suite:\n  name: mine\n  tasks: [bbc_retrieval]\n  variants:\n    " + variant + "\n")
    return f


def test_a_bad_positions_spec_names_file_line_and_field(tmp_path):
    from lmkbench.tasks.catalogue import read_task_file

    f = _suite(tmp_path, '- {name: x, settings: {positions: "ntk:abc", max_length: 4096}}')
    with pytest.raises(InputError) as info:
        read_task_file(f)
    assert info.value.file == f.resolve() and info.value.line == 4 and "variants[0].settings" in info.value.field
    assert "factor" in str(info.value)


def test_a_glob_matching_no_task_names_file_line_and_pattern(tmp_path):
    from lmkbench.suites import plan_runs

    _suite(tmp_path, '- {name: x, settings: {positions: pi, max_length: 4096}, tasks: ["pasky_*"]}')
    with pytest.raises(InputError) as info:
        plan_runs(["suite:mine"], EncoderSettings(), dirs=[tmp_path])
    assert str(info.value.file).endswith("s.yaml") and info.value.line == 4
    assert "'pasky_*' matches none" in str(info.value)
