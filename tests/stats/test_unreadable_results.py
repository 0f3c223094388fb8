"""A truncated result file is never skipped in silence: compare, report, baseline and check all stop with one
error naming it (a comparison or a gate must not silently lose a cell)."""
from __future__ import annotations

from pathlib import Path

from lmkbench.cli import main


def _truncate_one(results_dir: Path) -> Path:
    victim = sorted(results_dir.rglob("*.json"))[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    return victim


def test_compare_stops_naming_the_file(results_dir, capsys):
    victim = _truncate_one(results_dir)
    assert main(["compare", str(results_dir), "--baseline", "mean"]) == 2
    err = capsys.readouterr().err
    assert str(victim) in err and "malformed JSON" in err and "Traceback" not in err


def test_baseline_and_check_stop_with_an_error(results_dir, tmp_path, capsys):
    good = tmp_path / "baseline.json"
    assert main(["baseline", str(results_dir), "-o", str(good)]) == 0
    victim = _truncate_one(results_dir)
    assert main(["baseline", str(results_dir), "-o", str(tmp_path / "other.json")]) == 2
    err = capsys.readouterr().err
    assert str(victim) in err and "malformed JSON" in err and "Traceback" not in err
    assert main(["check", str(results_dir), "--baseline", str(good)]) == 2
    assert str(victim) in capsys.readouterr().err
