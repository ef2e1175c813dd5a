"""Fixtures: a governed chain (see helpers.py for its committee and organisation), a live node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.node import InProcessNode, node_in_thread

from .helpers import Gov, gov_chain


@pytest.fixture
def gov(tmp_path: Path) -> Iterator[Gov]:
    yield from gov_chain(tmp_path / "db")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[InProcessNode]:
    """A real single-validator node on its own thread (API on loopback)."""
    with node_in_thread(tmp_path / "net") as node:
        yield node
