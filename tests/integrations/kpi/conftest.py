"""The loopback fake Sheets server for the KPI source tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integrations.kpi.fake_sheets import FakeSheets


@pytest.fixture
def fake_sheets() -> Iterator[FakeSheets]:
    with FakeSheets() as fake:
        yield fake
