"""Build hook: ship the top-level datasets/ folder inside the wheel as memfit/_datasets/."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATASET_FILES = ("*.json", "*.csv", "*.py", "*.md")


class BuildPyWithDatasets(build_py):
    def run(self):
        super().run()
        src = Path(__file__).resolve().parent / "datasets"
        if not src.is_dir():  # building from an sdist without datasets/ already copied
            return
        dst = Path(self.build_lib) / "memfit" / "_datasets"
        dst.mkdir(parents=True, exist_ok=True)
        for pattern in DATASET_FILES:
            for f in src.glob(pattern):
                shutil.copy2(f, dst / f.name)


setup(cmdclass={"build_py": BuildPyWithDatasets})
