"""The build hook: the task catalogue lives at the top of the repository (``tasks/``) and ships inside the wheel
as package data, ``lmkbench/catalogue/`` (read there by ``lmkbench.tasks.paths.builtin_tasks_dir`` when no clone
holds the package). Everything else is declared in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TASKS = Path(__file__).resolve().parent / "tasks"


class BuildPyWithTasks(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):      # an editable install reads tasks/ in the clone
            return
        dest = Path(self.build_lib) / "lmkbench" / "catalogue"
        shutil.rmtree(dest, ignore_errors=True)         # no stale file from an earlier build
        for src in sorted(TASKS.rglob("*.y*ml")):
            target = dest / src.relative_to(TASKS)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


setup(cmdclass={"build_py": BuildPyWithTasks})
