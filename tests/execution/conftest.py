"""Fixtures: a fresh chain (genesis at version 0) in a temporary LMDB environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .chain import Chain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    opened = Chain.open(tmp_path / "db")
    yield opened
    opened.close()
