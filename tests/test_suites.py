"""Suite variants: the default suite also reads its long synthetic tasks extended, unless a length was chosen."""
from __future__ import annotations

import pytest

from lmkbench.settings import EncoderSettings
from lmkbench.suites import plan_runs


def test_default_suite_runs_as_asked_then_extended():
    runs = plan_runs(["suite:default"], EncoderSettings())
    assert [r.variant for r in runs] == [None, "default/extended"]
    ext = runs[1]
    # max_length: whole — the longest document (passkey_4096) plus lmk's landmarks (tests/test_read_whole.py)
    assert ext.settings.max_length > 4096 and ext.settings.positions != "native"
    assert ext.tasks and all(t.startswith(("passkey_", "needle_")) for t in ext.tasks)
    assert "bbc_retrieval" in runs[0].tasks[0] or runs[0].tasks == ("suite:default",)


@pytest.mark.parametrize("chosen", [dict(max_length=128), dict(long_policy="windows"), dict(positions="gp",
                                                                                              max_length=1024)])
def test_a_chosen_length_turns_variants_off(chosen):
    runs = plan_runs(["suite:default"], EncoderSettings(**chosen))
    assert len(runs) == 1 and runs[0].variant is None


def test_other_settings_are_kept_in_the_variant():
    runs = plan_runs(["suite:default"], EncoderSettings(dtype="bf16", device="cpu"))
    assert runs[1].settings.dtype == "bf16" and runs[1].settings.device == "cpu"


def test_a_bad_variant_setting_names_file_and_field(tmp_path):
    from lmkbench.errors import InputError
    from lmkbench.tasks.catalogue import read_task_file

    f = tmp_path / "s.yaml"
    f.write_text("suite:\n  name: mine\n  tasks: [bbc_retrieval]\n  variants:\n"
                 "    - {name: x, settings: {max_lenght: 4096}}\n")
    with pytest.raises(InputError) as info:
        read_task_file(f)
    msg = str(info.value)
    assert "s.yaml" in msg and "variants" in msg and "max_length" in msg


def test_a_variant_that_does_not_fit_the_model_is_skipped_with_its_reason(tiny_modernbert, tiny_beir, tmp_path):
    from lmkbench.runner import Runner, RunSettings
    from lmkbench.suites import SuiteRun, run_plan

    asked = EncoderSettings(cache_dir=False, device="cpu", max_length=64)
    runs = [SuiteRun(asked, (f"beir:{tiny_beir}",)),
            SuiteRun(EncoderSettings.of(asked, positions="pi", max_length=512), (f"beir:{tiny_beir}",), "s/ext", "test")]
    lines: list[str] = []
    done, first = run_plan(runs, lambda s: Runner(RunSettings(tiny_modernbert, ["mean"], tmp_path, encoder=s,
                                                             progress=False), log=lines.append), log=lines.append)
    assert [r.variant for r, _ in done] == [None] and done[0][1]
    assert any("suite variant s/ext skipped" in line and "absolute position models" in line for line in lines)
