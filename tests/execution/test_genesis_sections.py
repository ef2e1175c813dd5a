"""A module validates and installs its own section of the genesis ([EXT-GENESIS.1])."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import msgspec
import pytest
from tests.execution.chain import Chain, genesis_for
from tests.execution.ext_modules import (
    MaturityGenesis,
    MaturityItem,
    MaturityModule,
    SetLimit,
    maturity_key,
)

from consortia.codec import decode, encode
from consortia.execution.executor import Runtime
from consortia.genesis import Genesis, InvalidGenesis, ModuleGenesis, default_runtime

ITEMS = (MaturityItem(height=5, amount=10), MaturityItem(height=9, amount=20))


def _runtime() -> Runtime:
    base = default_runtime()
    return dataclasses.replace(base, modules={**base.modules, "maturity": MaturityModule()})


def _genesis(*sections: ModuleGenesis) -> Genesis:
    return msgspec.structs.replace(genesis_for(), modules=sections)


def _refusal(tmp_path: Path, genesis: Genesis) -> InvalidGenesis:
    with pytest.raises(InvalidGenesis) as caught:
        Chain.open(tmp_path, genesis, _runtime())
    return caught.value


def test_the_module_installs_its_section(tmp_path: Path) -> None:
    genesis = _genesis(ModuleGenesis.of("maturity", MaturityGenesis(items=ITEMS)))
    assert decode(encode(genesis), Genesis) == genesis
    chain = Chain.open(tmp_path, genesis, _runtime())
    try:
        stored = chain.dump(b"maturity/")
        assert stored == {maturity_key(i.height): encode(i) for i in ITEMS}
    finally:
        chain.close()


def test_a_genesis_without_sections_keeps_its_state_root(tmp_path: Path) -> None:
    """Adding the module changes nothing for a chain whose genesis gives it no section."""
    plain = Chain.open(tmp_path / "a", genesis_for())
    with_module = Chain.open(tmp_path / "b", genesis_for(), _runtime())
    try:
        assert plain.roots == with_module.roots
    finally:
        plain.close()
        with_module.close()


def test_the_modules_refusal_names_the_field(tmp_path: Path) -> None:
    items = (*ITEMS, MaturityItem(height=-1, amount=1))
    exc = _refusal(tmp_path, _genesis(ModuleGenesis.of("maturity", MaturityGenesis(items))))
    assert exc.code == "GENESIS_MODULE_INVALID"
    assert exc.message == "genesis.modules.maturity.items[2].height: must be ≥ 0"


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        (
            (ModuleGenesis(module="maturity", section=b"\x91\xc0"),),
            "genesis.modules.maturity: invalid MaturityGenesis encoding: Expected `array`, "
            "got `None` - at `$[0]`",
        ),
        (
            (ModuleGenesis.of("nowhere", MaturityGenesis()),),
            "genesis.modules[0].module: no module 'nowhere' in this runtime",
        ),
        (
            (ModuleGenesis.of("assets", MaturityGenesis()),),
            "genesis.modules[0].module: module 'assets' takes no genesis section",
        ),
        (
            (
                ModuleGenesis.of("maturity", MaturityGenesis()),
                ModuleGenesis.of("maturity", MaturityGenesis()),
            ),
            "genesis.modules[1].module: 'maturity' is out of order or repeated; one section "
            "per module, sorted by module name",
        ),
        (
            (ModuleGenesis.of("maturity", SetLimit(account=bytes(20), amount=1)),),
            "genesis.modules.maturity: invalid MaturityGenesis encoding: Expected `array`, "
            "got `bytes` - at `$[0]`",
        ),
    ],
)
def test_a_bad_section_is_refused_naming_where(
    tmp_path: Path, sections: tuple[ModuleGenesis, ...], message: str
) -> None:
    exc = _refusal(tmp_path, _genesis(*sections))
    assert (exc.code, exc.message) == ("GENESIS_MODULE_INVALID", message)
