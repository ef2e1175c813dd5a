"""Fixtures: a fresh chain from the execution tests' harness.

``tests/`` itself is not a package: pytest puts it on ``sys.path``, so the
harness is imported as ``execution.chain``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from execution.chain import Chain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    opened = Chain.open(tmp_path / "db")
    yield opened
    opened.close()
