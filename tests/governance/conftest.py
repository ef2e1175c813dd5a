"""Fixtures: a governed chain (see helpers.py for its committee and organisation)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import Gov, gov_chain


@pytest.fixture
def gov(tmp_path: Path) -> Iterator[Gov]:
    yield from gov_chain(tmp_path / "db")
