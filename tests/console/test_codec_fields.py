"""The console's struct field lists (``chain/codec.js``) match the node's structs.

The proofs page decodes blocks, certificates and the genesis in the browser by
field position; a field added on the Python side and not in ``FIELDS`` made
every proof check fail ("a Genesis is an array of 7 fields"). This test reads
the JavaScript table and compares each entry with the struct's fields in order.
"""

from __future__ import annotations

import re

import msgspec

from consortia.console import STATIC_DIR
from consortia.genesis import Genesis
from consortia.ledger import types
from consortia.state._proof import StateProof

STRUCTS: dict[str, type[msgspec.Struct]] = {
    "TxBody": types.TxBody,
    "Transaction": types.Transaction,
    "QuorumCert": types.QuorumCert,
    "VoteData": types.VoteData,
    "ValidatorInfo": types.ValidatorInfo,
    "ValidatorSet": types.ValidatorSet,
    "BlockHeader": types.BlockHeader,
    "Block": types.Block,
    "CommitProof": types.CommitProof,
    "EpochStart": types.EpochStart,
    "Genesis": Genesis,
    "StateProof": StateProof,
}


def _js_fields() -> dict[str, list[str]]:
    source = (STATIC_DIR / "js" / "chain" / "codec.js").read_text(encoding="utf-8")
    table = re.search(r"const FIELDS = \{(.*?)\n\};", source, re.DOTALL)
    assert table is not None, "codec.js has no FIELDS table"
    entries = re.findall(r"(\w+): \[(.*?)\]", table.group(1), re.DOTALL)
    return {name: re.findall(r'"(\w+)"', body) for name, body in entries}


def test_every_struct_the_console_decodes_has_the_nodes_fields_in_order() -> None:
    fields = _js_fields()
    assert set(fields) == set(STRUCTS)
    for name, struct in STRUCTS.items():
        assert fields[name] == list(struct.__struct_fields__), name
