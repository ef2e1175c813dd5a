"""Scheduled module versions switch at their activation height ([EXEC-UPGRADE.1])."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.execution.chain import Chain, genesis_for, key, make_tx

from consortia.codec import encode
from consortia.crypto import KeyType
from consortia.execution.module import Method
from consortia.execution.upgrades import ModuleVersion, UpgradeRequired, version_key
from consortia.genesis import default_runtime
from consortia.modules.assets import AssetsModule
from consortia.modules.assets.types import Burn

ALICE = key(KeyType.SM2, 1)


class AssetsV2(AssetsModule):
    """A later ``assets`` that retired ``burn``."""

    methods: Mapping[str, Method[Any]] = {
        name: method for name, method in AssetsModule.methods.items() if name != "burn"
    }


def _burn(chain: Chain, nonce: int) -> str:
    tx = make_tx(ALICE, nonce, "assets", "burn", Burn(symbol="NONE", amount=1))
    return chain.run(tx).receipt.status


def _scheduled(tmp_path: Path, *, carries_v2: bool) -> Chain:
    runtime = default_runtime()
    if carries_v2:
        runtime = dataclasses.replace(runtime, upgrades={("assets", "2"): AssetsV2()})
    chain = Chain.open(tmp_path, genesis_for([ALICE]), runtime)
    record = ModuleVersion(module="assets", version="2", activation_height=chain.height + 4)
    chain.poke(version_key("assets"), encode(record))  # what schedule_upgrade writes
    return chain


def test_the_new_version_runs_from_its_activation_height(tmp_path: Path) -> None:
    chain = _scheduled(tmp_path, carries_v2=True)
    try:
        before = [_burn(chain, 0), _burn(chain, 1)]  # heights 2 and 3: version 1
        assert before == ["ASSET_NOT_FOUND", "ASSET_NOT_FOUND"]
        assert _burn(chain, 2) == "TX_UNKNOWN_METHOD"  # height 4: version 2, no burn
    finally:
        chain.close()


def test_a_node_without_the_version_stops_at_the_activation_height(tmp_path: Path) -> None:
    chain = _scheduled(tmp_path, carries_v2=False)
    try:
        assert _burn(chain, 0) == "ASSET_NOT_FOUND"
        assert _burn(chain, 1) == "ASSET_NOT_FOUND"
        height, root = chain.height, chain.roots[-1]
        with pytest.raises(UpgradeRequired, match="assets version 2 is in force from height 4"):
            _burn(chain, 2)
        assert (chain.height, chain.roots[-1]) == (height, root)  # nothing applied
    finally:
        chain.close()
