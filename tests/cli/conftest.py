"""A live single-validator node (in-process, on its own thread) shared by this module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.node import InProcessNode, node_in_thread


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    with node_in_thread(tmp_path_factory.mktemp("net") / "net") as node:
        yield node
