"""Ship `edge_train_storage.pth` in regular and editable (`pip install -e .`) wheels of the package.

The `.pth` file makes every Python process (plain `dvc` included) load `ml.storage.autopin`, which pins the
storage API version when adlfs is imported (docs/data.md). setuptools has no declarative way to put a file at
the root of site-packages, so the two commands that build wheels add it: `build_py` for regular wheels, and
`editable_wheel` for the editable wheel that `uv pip install -e .` builds. Everything else is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME = "edge_train_storage.pth"
PTH_LINE = "import ml.storage.autopin; ml.storage.autopin.install_at_startup()\n"


class BuildPyWithPth(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib, PTH_NAME)
        target.write_text(PTH_LINE)
        self.outfiles = [*getattr(self, "outfiles", []), str(target)]


class EditableWheelWithPth(editable_wheel):
    def _run_build_commands(self, dist_name, unpacked_wheel, build_lib, tmp_dir):  # type: ignore[no-untyped-def]
        result = super()._run_build_commands(dist_name, unpacked_wheel, build_lib, tmp_dir)
        Path(unpacked_wheel, PTH_NAME).write_text(PTH_LINE)
        return result


setup(cmdclass={"build_py": BuildPyWithPth, "editable_wheel": EditableWheelWithPth})
