"""``node.toml``: the pool limits an operator sets, and refusals of bad values."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from tests.support.node import signed_tx

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, SupplyRule
from consortia.node.config import ConfigError, NodeHome, render_config
from consortia.node.init import init_network
from consortia.server.assembly import Node


def test_clients_fill_half_the_pool_and_gossip_the_rest(tmp_path: Path) -> None:
    """``mempool_max_txs`` bounds the pool; clients may fill half of it, so the
    gossip of other validators' client transactions still finds room."""
    entry = init_network(tmp_path / "net", validators=1, orgs=1, suite="sm")[0]
    home = NodeHome(entry.home)
    config = msgspec.structs.replace(home.load_config(), mempool_max_txs=6)
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
            for n in range(9)
        ]
        service = node.service
        results = asyncio.run(service.submit_many(raws[:5]))
        assert [getattr(r, "code", "OK") for r in results] == ["OK"] * 3 + ["MEMPOOL_FULL"] * 2
        assert "other validators' gossip" in str(getattr(results[3], "message", ""))
        gossiped = asyncio.run(service.submit_many(raws[5:], gossip=False))
        assert [getattr(r, "code", "OK") for r in gossiped] == ["OK"] * 3 + ["MEMPOOL_FULL"]
        assert len(service.mempool) == 6
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
