"""Where the installed coachd keeps its data: the built-in templates and the example config.

Both are package data of `coachd_templates` (see setup.py), found with importlib.resources,
so they are there whether coachd runs from a clone, an editable install, `pip install .` or
a wheel. A missing piece is a UserError that says the install is broken.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from integrations.errors import UserError

PACKAGE = "coachd_templates"
EXAMPLE_CONFIG = "example-config.yaml"


def templates_dir() -> Path:
    """The folder of the built-in templates (a real folder: pip installs wheels unzipped)."""
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise UserError(
            f"the built-in templates (package {PACKAGE}) are missing from this install; "
            "reinstall coachd"
        ) from None
    path = Path(str(root))
    if not path.is_dir():
        raise UserError(f"the built-in templates at {root} are not a folder; reinstall coachd")
    return path


def example_config() -> str:
    """The commented example config.yaml: package data in an install, the repository's own
    config.yaml in a clone or an editable install."""
    folder = templates_dir()
    packaged = folder / EXAMPLE_CONFIG
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    clone = folder.parent
    if (clone / "pyproject.toml").is_file() and (clone / "config.yaml").is_file():
        return (clone / "config.yaml").read_text(encoding="utf-8")
    raise UserError(
        f"the example config ({PACKAGE}/{EXAMPLE_CONFIG}) is missing from this install; "
        "reinstall coachd"
    )
