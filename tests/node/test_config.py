"""``node.toml``: the pool limits an operator sets, and refusals of bad values."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from tests.support.node import signed_tx

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, SupplyRule
from consortia.node.assembly import Node
from consortia.node.config import ConfigError, NodeHome, render_config
from consortia.node.init import init_network


def test_a_full_pool_refuses_with_mempool_full_and_keeps_what_it_holds(tmp_path: Path) -> None:
    entry = init_network(tmp_path / "net", validators=1, orgs=1, suite="sm")[0]
    home = NodeHome(entry.home)
    config = msgspec.structs.replace(home.load_config(), mempool_max_txs=3)
    home.config_file.write_text(render_config(config), encoding="utf-8")
    node = Node.open(entry.home)
    try:
        raws = [
            signed_tx(
                PrivateKey.generate(KeyType.SM2),
                0,
                "assets",
                "create",
                Create(f"F{n}", "f", 0, SupplyRule.UNLIMITED, 0),
            )
            for n in range(5)
        ]
        results = asyncio.run(node.service.submit_many(raws))
        codes = [getattr(r, "code", "OK") for r in results]
        assert codes == ["OK", "OK", "OK", "MEMPOOL_FULL", "MEMPOOL_FULL"]
        assert len(node.service.mempool) == 3
    finally:
        node.close()


@pytest.mark.parametrize(
    ("line", "field"),
    [("mempool_max_txs = 0", "mempool_max_txs"), ("mempool_max_mib = -1", "mempool_max_mib")],
)
def test_bad_pool_limits_are_refused_at_start_with_the_field_named(
    tmp_path: Path, line: str, field: str
) -> None:
    entry = init_network(tmp_path / "net", validators=1, orgs=1, suite="sm")[0]
    home = NodeHome(entry.home)
    text = home.config_file.read_text()
    lines = [line if row.startswith(field + " ") else row for row in text.splitlines()]
    home.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=field):
        home.load_config()
