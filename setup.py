"""Packaging that pyproject.toml alone cannot say: ship `templates/` and the example config.

`templates/` stays at the top of the repository (the layout is fixed), so it is installed as
the package `coachd_templates` (package_dir maps the name to the folder), and the example
`config.yaml` is copied into that package as `example-config.yaml` when it is built. Code
finds both through importlib.resources (integrations/resources.py), never through paths
relative to the source tree.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithExampleConfig(build_py):
    """build_py, plus the example config.yaml copied into coachd_templates."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install reads the repository's config.yaml
            target = Path(self.build_lib) / "coachd_templates" / "example-config.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(HERE / "config.yaml"), str(target))


setup(
    packages=[*find_packages(include=["planner*", "integrations*"]), "coachd_templates"],
    package_dir={"coachd_templates": "templates"},
    package_data={"coachd_templates": ["*.html", "*.txt", "*.md"]},
    cmdclass={"build_py": BuildWithExampleConfig},
)
