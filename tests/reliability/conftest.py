"""Reliability tests reuse the Google fakes and helpers from tests/integrations/google/ and
the planner's builders from tests/planner/ (pytest puts a test folder on sys.path only for
its own modules)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]
for _folder in (_TESTS / "integrations" / "google", _TESTS / "planner"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from fake_server import fake_google  # noqa: E402  (needs the path above)

__all__ = ["fake_google"]
