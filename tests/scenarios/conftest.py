"""Scenario tests drive whole ticks over simulated weeks on both backends; they reuse the
Google fake from tests/integrations/google/ (pytest puts only this folder on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

_GOOGLE = Path(__file__).resolve().parents[1] / "integrations" / "google"
if str(_GOOGLE) not in sys.path:
    sys.path.insert(0, str(_GOOGLE))

from fake_server import fake_google  # noqa: E402  (needs the path above)

__all__ = ["fake_google"]
